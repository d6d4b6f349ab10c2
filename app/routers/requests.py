"""The requests resource (``/v1/requests``): thin routes over :mod:`app.services.requests`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.answers import store as answer_store
from app.auth import CUSTOMER_NUMBER_PATTERN
from app.connectors.base import Retained
from app.db import utcnow
from app.deps import (
    LockedRequestDep,
    PrincipalDep,
    ReadSessionDep,
    RequestDep,
    SessionDep,
    StaffDep,
)
from app.models import DsrRequest, RequestStatus, RequestType, ResponsePackage, Task, TaskStatus
from app.notifications import outbox
from app.schemas import (
    CancelBody,
    CompleteTaskBody,
    DetailsOut,
    EventOut,
    EventsOut,
    ExtendBody,
    LiftBody,
    NotificationOut,
    NotificationsOut,
    RejectBody,
    RequestCreate,
    RequestOut,
    RequestPage,
    ResponseInfo,
    TaskOut,
    VerifyBody,
    problem_responses,
)
from app.services import agent_tasks, audit, lifecycle, request_queries
from app.services import requests as svc

router = APIRouter(prefix="/v1/requests", tags=["requests"])

AUTH = (401, 403)
# Every operation that reads a body documents 400 (not UTF-8 JSON) and 413 (too large).
ACTION = problem_responses(400, *AUTH, 404, 409, 413, 422)
NO_BODY_ACTION = problem_responses(*AUTH, 404, 409, 422)
IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="any printable ASCII up to 255 characters; the same key and body return the "
    "same request, the same key with another body is a 409",
    examples=["portal-7f3a1c"])]
_BY_ID = {"request_id": "$response.body#/id"}
_BY_TASK = {**_BY_ID, "task_id": "$response.body#/tasks/0/id"}
# What a client does next with the request it got back (OpenAPI links).
LINKS = {
    name: {"operationId": name, "parameters": params,
           "description": f"`{name}` on the request just answered"}
    for name, params in (
        ("getRequest", _BY_ID), ("verifyRequest", _BY_ID), ("rejectRequest", _BY_ID),
        ("extendRequest", _BY_ID), ("cancelRequest", _BY_ID), ("liftRestriction", _BY_ID),
        ("listEvents", _BY_ID), ("listNotifications", _BY_ID),
        ("downloadResponse", _BY_ID), ("checkResponse", _BY_ID),
        ("completeTask", _BY_TASK), ("retryTask", _BY_TASK),
    )
}
CREATE_EXAMPLES = {
    "portal-access": {"summary": "The portal's customer asks for a copy of their data",
                      "value": {"type": "access", "language": "sv"}},
    "agent-erasure": {"summary": "An agent enters an erasure received by phone (identity "
                      "not yet verified)",
                      "value": {"type": "erasure", "customer_number": "C-1002",
                                "channel": "phone"}},
    "agent-verified": {"summary": "An agent enters a request whose identity was checked",
                       "value": {"type": "access", "customer_number": "C-1001",
                                 "channel": "in_person", "identity_verification": "id_document"}},
    "rectification": {"summary": "Correct an address",
                      "value": {"type": "rectification",
                                "details": {"changes": {"address": "Storgatan 1"}}}},
    "restriction": {"summary": "Restrict processing while accuracy is contested",
                    "value": {"type": "restriction",
                              "details": {"grounds": "accuracy_contested"}}},
    "objection": {"summary": "Object to direct marketing",
                  "value": {"type": "objection",
                            "details": {"processing": "direct_marketing"}}},
    "portability": {"summary": "Data in JSON and CSV, and port the number to another operator",
                    "value": {"type": "portability",
                              "details": {"formats": ["json", "csv"],
                                          "receiving_operator": "Telia"}}},
}


def present(
    request: DsrRequest, tasks: Sequence[Task] | Sequence[dict[str, Any]],
    package: ResponsePackage | None = None,
) -> RequestOut:
    now = utcnow()
    info, response_url = answer_store.response_info(request, package)
    return RequestOut(
        id=request.id, type=request.type, status=request.status,
        customer_number=request.customer_number, channel=request.channel,
        language=request.language,
        details=DetailsOut.model_validate(_public_details(request.details)),
        identity_verification=request.identity_verification, created_at=request.created_at,
        received_at=request.received_at, due_at=request.due_at,
        overdue=lifecycle.is_overdue(request, now),
        extended_months=request.extended_months, extension_reason=request.extension_reason,
        lift_reason=request.lift_reason, reject_reason=request.reject_reason,
        closing_as=request.closing_as, closing_requested_at=request.closing_requested_at,
        finished_at=request.finished_at,
        tasks=[TaskOut.model_validate(task, from_attributes=True) for task in tasks],
        response=ResponseInfo.model_validate(info) if info else None,
        response_url=response_url,
    )


def _public_details(details: dict) -> dict:
    # New values of a rectification are personal data: the API names the fields, not the values.
    if isinstance(details.get("changes"), dict):
        return {**details, "changes": sorted(details["changes"])}
    return details


async def _present_one(session: AsyncSession, request: DsrRequest) -> RequestOut:
    tasks = await request_queries.tasks_for(session, [request.id])
    # only an answered request has a package (reopening one drops it)
    packages = await answer_store.packages_for(session, [request.id]) \
        if request.status in lifecycle.ANSWERED else {}
    return present(request, tasks[request.id], packages.get(request.id))


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=RequestOut,
    responses={202: {"links": LINKS}, **problem_responses(400, *AUTH, 409, 413, 422)},
    summary="Submit a data subject request", operation_id="createRequest",
    description="The portal submits for its own customer (identity verified by its BankID "
    "login); an agent names the customer and the channel, and the identity check if one was "
    "made. Answers 202: the request is carried out in the background; poll `getRequest`.",
)
async def create_request(
    session: SessionDep, principal: PrincipalDep,
    body: Annotated[RequestCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKeyHeader = None,
) -> RequestOut:
    made = await svc.create_request(
        session, data=body, principal=principal, idempotency_key=idempotency_key
    )
    if made.tasks is None:  # an earlier request, returned for its Idempotency-Key
        return await _present_one(session, made.request)
    return present(made.request, sorted(made.tasks, key=lambda t: (t["system"], t["action"])))


@router.get(
    "", response_model=RequestPage, responses=problem_responses(400, 401, 422),
    summary="List requests (a portal token sees its own customer's only)",
    operation_id="listRequests",
    description="Newest first. Pass `next_cursor` back as `cursor` for the next page; a "
    "cursor this service did not issue is a 400 `invalid-cursor`.",
)
async def list_requests(
    session: ReadSessionDep, principal: PrincipalDep,
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    type_: Annotated[RequestType | None, Query(alias="type")] = None,
    customer_number: Annotated[str | None, Query(
        max_length=16, pattern=CUSTOMER_NUMBER_PATTERN, examples=["C-1001"])] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RequestPage:
    filters = request_queries.ListFilter(
        status=status_, type=type_, customer_number=customer_number, overdue=overdue
    )
    page, next_cursor = await request_queries.list_requests(
        session, principal=principal, filters=filters, limit=limit, cursor=cursor
    )
    tasks = await request_queries.tasks_for(session, [r.id for r in page])
    packages = await answer_store.packages_for(session, [r.id for r in page])
    return RequestPage(items=[present(r, tasks[r.id], packages.get(r.id)) for r in page],
                       next_cursor=next_cursor)


@router.get(
    "/{request_id}", response_model=RequestOut, responses=problem_responses(401, 404, 422),
    summary="One request with its tasks", operation_id="getRequest",
)
async def get_request(session: ReadSessionDep, request: RequestDep) -> RequestOut:
    return await _present_one(session, request)


@router.post("/{request_id}/verify", response_model=RequestOut, responses=ACTION,
             summary="Record how the customer's identity was verified",
             operation_id="verifyRequest")
async def verify_request(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, body: VerifyBody
) -> RequestOut:
    await svc.verify(session, request=request, principal=principal, method=body.method.value)
    return await _present_one(session, request)


@router.post("/{request_id}/reject", response_model=RequestOut, responses=ACTION,
             summary="Refuse a request (art. 12(5)), with a reason", operation_id="rejectRequest")
async def reject_request(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, body: RejectBody
) -> RequestOut:
    await svc.reject(
        session, request=request, principal=principal, reason=body.reason, note=body.note
    )
    return await _present_one(session, request)


@router.post("/{request_id}/extend", response_model=RequestOut, responses=ACTION,
             summary="Extend the deadline by one or two months (art. 12(3))",
             operation_id="extendRequest")
async def extend_request(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, body: ExtendBody
) -> RequestOut:
    await svc.extend(
        session, request=request, principal=principal, months=body.months, reason=body.reason
    )
    return await _present_one(session, request)


@router.post("/{request_id}/cancel", response_model=RequestOut, responses=ACTION,
             summary="Cancel a request (e.g. withdrawn by the customer)",
             operation_id="cancelRequest")
async def cancel_request(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, body: CancelBody
) -> RequestOut:
    await svc.cancel(session, request=request, principal=principal, note=body.note)
    return await _present_one(session, request)


@router.get("/{request_id}/events", response_model=EventsOut,
            responses=problem_responses(*AUTH, 404, 422), summary="The audit trail",
            operation_id="listEvents")
async def list_events(
    session: ReadSessionDep, _principal: StaffDep, request: RequestDep
) -> EventsOut:
    events = await audit.list_events(session, request.id)
    # the same check as `dsr audit verify`: the keyed chain, and the ledger's checkpoints of it
    report = audit.verify_events(events, head=request.audit_head, count=request.audit_seq,
                                 checkpoints=await audit.checkpoints(session, request.id))
    return EventsOut(
        request_id=request.id, chain_intact=report.ok,
        events=[EventOut.model_validate(e, from_attributes=True) for e in events],
    )


@router.post("/{request_id}/tasks/{task_id}/retry", response_model=RequestOut,
             responses=NO_BODY_ACTION, summary="Send a failed task round again",
             operation_id="retryTask")
async def retry_task(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, task_id: uuid.UUID
) -> RequestOut:
    await agent_tasks.retry_task(session, request=request, task_id=task_id, principal=principal)
    return await _present_one(session, request)


@router.post("/{request_id}/tasks/{task_id}/complete", response_model=RequestOut,
             responses=ACTION, summary="Record the outcome of a manual (or failed) task",
             operation_id="completeTask")
async def complete_task(
    http: Request, session: SessionDep, principal: StaffDep, request: LockedRequestDep,
    task_id: uuid.UUID, body: CompleteTaskBody,
) -> RequestOut:
    await agent_tasks.complete_task(
        session, request=request, task_id=task_id, principal=principal,
        status=TaskStatus(body.outcome), note=body.note,
        retained=[Retained(r.category, r.basis, r.until.isoformat() if r.until else None)
                  for r in body.retained],
        vault=http.app.state.vault, decision=body.decision,
    )
    return await _present_one(session, request)


@router.post("/{request_id}/lift", response_model=RequestOut, responses=ACTION,
             summary="Lift a completed restriction (art. 18(3)): the customer is told first",
             operation_id="liftRestriction")
async def lift_restriction(
    session: SessionDep, principal: StaffDep, request: LockedRequestDep, body: LiftBody
) -> RequestOut:
    await svc.lift(session, request=request, principal=principal, reason=body.reason)
    return await _present_one(session, request)


@router.get("/{request_id}/notifications", response_model=NotificationsOut,
            responses=problem_responses(*AUTH, 404, 422),
            summary="The portal notifications of a request and their delivery state",
            operation_id="listNotifications")
async def list_notifications(
    session: ReadSessionDep, _principal: StaffDep, request: RequestDep
) -> NotificationsOut:
    rows = await outbox.for_request(session, request.id)
    return NotificationsOut(request_id=request.id, items=[
        NotificationOut(id=n.id, event=n.event, status=n.status.value, attempts=n.attempts,
                        created_at=n.created_at,
                        next_attempt_at=n.next_attempt_at if n.status.value == "pending"
                        else None,
                        delivered_at=n.delivered_at, last_error=n.last_error, payload=n.payload)
        for n in rows])
