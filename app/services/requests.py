"""Requests: creation, the legal deadlines, and the agents' actions (reading and listing them
is :mod:`app.services.request_queries`).

The state machine the actions drive is :mod:`app.services.lifecycle`; every transition writes
an audit event in the same transaction, under the request's row lock.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers.store import supersede
from app.auth import Principal, Role
from app.db import utcnow
from app.errors import (
    AlreadyLifted,
    ExtensionLimitReached,
    ExtensionTooLate,
    Forbidden,
    IdempotencyMismatch,
    NotARestriction,
    NotFound,
    Unprocessable,
)
from app.models import (
    Channel,
    DsrRequest,
    IdempotencyKey,
    Language,
    Link,
    RejectReason,
    RequestType,
    Task,
    TaskStatus,
)
from app.notifications import outbox
from app.rights import plan
from app.schemas import RequestCreate
from app.services import audit, lifecycle, tasks
from app.services import lift as lift_service

MAX_EXTENSION_MONTHS = 2  # GDPR art. 12(3): "by two further months where necessary"
PORTAL_IDENTITY = "bankid"  # the portal's login is a BankID login


def due_date(received_at: datetime, extended_months: int = 0) -> datetime:
    """One calendar month from receipt, plus any extension, counted from receipt.

    Counting from receipt (not from the previous due date) keeps month ends right: a request
    received 31 January is due 28/29 February, and with two more months 30 April.
    """
    return received_at + relativedelta(months=1 + extended_months)


# -- create -------------------------------------------------------------------------------------


def _body_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def _field_error(field: str, msg: str) -> Unprocessable:
    return Unprocessable(
        f"{field}: {msg}", errors=[{"loc": ["body", field], "msg": msg, "type": "value_error"}]
    )


def _intake(data: RequestCreate, principal: Principal) -> tuple[str, Channel, str | None]:
    """Who the request is for, how it came in and whether identity is already verified."""
    if principal.role is Role.portal:
        assert principal.customer_number is not None
        if data.customer_number not in (None, principal.customer_number):
            raise Forbidden("A portal token may create requests for its own customer only.")
        if data.channel is not None or data.identity_verification is not None:
            raise _field_error(
                "channel" if data.channel is not None else "identity_verification",
                "is set by the portal itself (BankID login) and must not be sent",
            )
        return principal.customer_number, Channel.portal, PORTAL_IDENTITY
    if data.customer_number is None:
        raise _field_error("customer_number", "is required for requests entered by an agent")
    if data.channel is None:
        raise _field_error("channel", "is required for requests entered by an agent")
    identity = data.identity_verification.value if data.identity_verification else None
    return data.customer_number, Channel(data.channel.value), identity


_LINKED = select(col(Link.system)).where(col(Link.customer_number) == bindparam("customer"))
# Core, not the ORM: a request's tasks go in as rows, no objects to keep track of
_INSERT_TASKS = insert(Task.__table__)  # type: ignore[attr-defined]
# The request too: flushing one new object through the unit of work took a fifth of intake's
# CPU. Every column is given from the object, made with its defaults, so the row is the same.
_INSERT_REQUEST = insert(DsrRequest.__table__)  # type: ignore[attr-defined]
_REQUEST_COLUMNS = tuple(column.key for column in DsrRequest.__table__.columns)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Created:
    request: DsrRequest
    # Its tasks' rows (Task.row); None when an Idempotency-Key returned an earlier request
    tasks: list[dict[str, Any]] | None


async def create_request(
    session: AsyncSession, *, data: RequestCreate, principal: Principal,
    idempotency_key: str | None = None,
) -> Created:
    """Persist a request with its tasks and first audit event.

    Three writes: the request (its audit head already in it), its tasks in one statement,
    its event; the tasks' rows are handed back so the answer needs no read."""
    customer, channel, identity = _intake(data, principal)
    details = data.details.model_dump(mode="json")
    now = utcnow()
    request = DsrRequest(
        id=uuid.uuid4(), type=data.type, customer_number=customer, channel=channel,
        language=data.language or Language.sv,
        details=details, identity_verification=identity,
        verified_at=now if identity else None,
        status=lifecycle.initial_status(verified=identity is not None),
        received_at=now, due_at=due_date(now), created_by=principal.sub,
        created_by_role=principal.role.value, created_at=now, updated_at=now,
    )
    created = audit.chain(
        request, actor=principal.sub, actor_role=principal.role.value, action="created",
        to_status=request.status.value, at=now,
        data={"type": data.type.value, "channel": channel.value,
              "identity_verification": identity,
              **({"fields": sorted(details["changes"])} if "changes" in details else {})},
    )
    if idempotency_key is not None:
        existing = await _claim_idempotency_key(
            session, request=request, principal=principal, key=idempotency_key,
            body_sha256=_body_hash({**data.model_dump(mode="json"), "customer_number": customer}),
        )
        if existing is not None:
            return Created(existing, None)
    else:  # before its tasks (their foreign key)
        await session.execute(_INSERT_REQUEST, {name: getattr(request, name)
                                                for name in _REQUEST_COLUMNS})

    linked = set(await session.scalars(_LINKED, {"customer": customer}))
    made = [Task.row(request, system, action, now)
            for system, action in plan(data.type, details, linked)]
    if made:
        await session.execute(_INSERT_TASKS, made)
    await audit.write(session, created)
    if request.status in lifecycle.ACTIVE:
        lifecycle.signal_work(session)
    await outbox.emit(session, request, "request.received", due_at=request.due_at.isoformat())
    return Created(request, made)


RETENTION_ACTOR = ("retention-sweep", "system")


async def create_system_request(
    session: AsyncSession, *, customer_number: str, type_: RequestType,
    details: dict[str, Any], reason: str,
) -> DsrRequest:
    """A request the service starts itself under the policy's retention rules (channel
    ``retention``): no identity to verify, dispatched at once, audited and answered like any."""
    now = utcnow()
    request = DsrRequest(
        type=type_, customer_number=customer_number, channel=Channel.retention,
        language=Language.sv, details=details, identity_verification=None, verified_at=now,
        status=lifecycle.initial_status(verified=True), received_at=now, due_at=due_date(now),
        created_by=RETENTION_ACTOR[0], created_by_role=RETENTION_ACTOR[1], created_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    linked = set(await session.scalars(_LINKED, {"customer": customer_number}))
    for system, action in plan(type_, details, linked):
        session.add(Task.of(request, system, action))
    lifecycle.signal_work(session)
    await audit.record(
        session, request=request, actor=RETENTION_ACTOR[0], actor_role=RETENTION_ACTOR[1],
        action="created", to_status=request.status.value,
        data={"type": type_.value, "channel": Channel.retention.value, "reason": reason},
    )
    await outbox.emit(session, request, "request.received", due_at=request.due_at.isoformat())
    return request


def _idempotency_scope(principal: Principal) -> str:
    return f"{principal.label}:{principal.customer_number or ''}"


async def _claim_idempotency_key(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, key: str,
    body_sha256: str,
) -> DsrRequest | None:
    """Insert the request under the key, or return the request the key already made.

    The request and its key row go in under a savepoint: when a concurrent duplicate won the
    race, the unique key makes this insert fail, the savepoint is rolled back, and the winner's
    request (committed by then) is returned instead. Exactly one request exists per key.
    """
    scope = _idempotency_scope(principal)
    existing = await session.get(IdempotencyKey, (scope, key))
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(request)
                await session.flush()
                session.add(IdempotencyKey(
                    scope=scope, key=key, body_sha256=body_sha256, request_id=request.id
                ))
                await session.flush()
            return None
        except IntegrityError:
            existing = await session.get(IdempotencyKey, (scope, key))
            if existing is None:  # pragma: no cover - the unique violation was something else
                raise
    if existing.body_sha256 != body_sha256:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request body."
        )
    found = await session.get(DsrRequest, existing.request_id)
    if found is None:
        raise NotFound("The request made with this Idempotency-Key no longer exists.")
    return found


# -- transitions --------------------------------------------------------------------------------
# The state machine itself is app.services.lifecycle; these are the agent actions on it.


def _actor(principal: Principal) -> lifecycle.Actor:
    return principal.sub, principal.role.value


async def verify(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, method: str
) -> DsrRequest:
    await lifecycle.begin(session, request, actor=_actor(principal), method=method)
    return request


async def reject(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, reason: RejectReason,
    note: str,
) -> DsrRequest:
    lifecycle.guard(request, "reject")
    request.reject_reason, request.note = reason, note
    await lifecycle.request_close(
        session, request, action="reject", actor=_actor(principal),
        data={"reason": reason.value}, resolve_unsent=tasks.follow_up_or_cancel,
    )
    return request


async def cancel(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, note: str
) -> DsrRequest:
    lifecycle.guard(request, "cancel")
    request.note = note
    await lifecycle.request_close(
        session, request, action="cancel", actor=_actor(principal), data={},
        resolve_unsent=tasks.follow_up_or_cancel,
    )
    return request


async def extend(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, months: int,
    reason: str,
) -> DsrRequest:
    """Art. 12(3): up to two further months in all, decided and told within the first month."""
    lifecycle.guard(request, "extend")
    if request.extended_months + months > MAX_EXTENSION_MONTHS:
        left = MAX_EXTENSION_MONTHS - request.extended_months
        raise ExtensionLimitReached(
            f"A request may be extended by {MAX_EXTENSION_MONTHS} further months in total; "
            f"{left} month(s) remain."
        )
    if utcnow() > due_date(request.received_at):
        raise ExtensionTooLate(
            "An extension must be decided and told to the customer within one month of receipt."
        )
    before = request.due_at
    request.extended_months += months
    request.extension_reason = reason
    request.due_at = due_date(request.received_at, request.extended_months)
    request.updated_at = utcnow()
    await lifecycle.note(
        session, request, action="extended", actor=_actor(principal),
        data={"months": months, "due_before": before.isoformat(),
              "due_after": request.due_at.isoformat()},
    )
    # Art. 12(3): the customer is told of the extension at once. The reasons are the agent's
    # free text, which no notification carries: the letter at notice_url states them (as the
    # final answer does).
    await outbox.emit(session, request, "request.extended", due_at=request.due_at.isoformat(),
                      extended_months=request.extended_months,
                      notice_url=f"/v1/requests/{request.id}/notices/extension")
    return request


LIFT_ACTION = lift_service.LIFT_ACTION


async def lift(
    session: AsyncSession, *, request: DsrRequest, principal: Principal, reason: str
) -> DsrRequest:
    """Art. 18(3): lift a completed restriction, telling the customer first.

    One lift task per system where the restriction was applied, and a notice task, all held
    back (services.lift): the answer is built again as the notice letter, the customer is
    told (the portal's ``restriction.lift_notice``, or an agent sends the letter), and only
    ``DSR_LIFT_NOTICE_S`` after the notice was delivered does any system lift it.
    """
    lifecycle.guard(request, "lift")
    if request.type is not RequestType.restriction:
        raise NotARestriction("Only a restriction can be lifted.")
    rows = list(await session.scalars(select(Task).where(col(Task.request_id) == request.id)))
    if any(task.action == LIFT_ACTION for task in rows):
        raise AlreadyLifted("This restriction has already been lifted.")
    applied = [task.system for task in rows if task.status is TaskStatus.done
               and task.action == "restrict"]
    now = utcnow()
    request.lift_reason, request.lift_requested_at = reason, now
    await lift_service.begin(session, request, systems=applied)
    # the answer is rebuilt with the lift letter: the stored one goes, its SHA-256 stays on
    # the audit trail (the customer's copy remains verifiable)
    await supersede(session, request)
    await lifecycle.reopen_for_lift(session, request, actor=_actor(principal), reason=reason)
    if not applied:
        await lifecycle.settle(session, request, actor=_actor(principal))
    return request
