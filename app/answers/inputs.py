"""A plain snapshot of everything an answer states, read in a few queries, partner data decrypted.

The snapshot (:class:`~app.rights.facts.PackageInputs`) is what :mod:`app.answers.content`
writes the package from; nothing after this reads the database.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers.content import (
    PackageInputs,
    RequestFacts,
    SystemResult,
)
from app.models import (
    AuditEvent,
    DsrRequest,
    Link,
    RequestType,
    Task,
    TaskResult,
)
from app.partners import PARTNERS
from app.rights.facts import CaseRecord, EventFact
from app.services import lift
from app.services.vault import Vault

_TASKS_OF = select(Task).where(col(Task.request_id).in_(bindparam("ids", expanding=True)))
_RESULTS_OF = select(TaskResult).where(
    col(TaskResult.request_id).in_(bindparam("ids", expanding=True)))
_LINKS_OF = select(Link).where(
    col(Link.customer_number).in_(bindparam("customers", expanding=True)))


# The trail's events a letter's claims rest on (the (request_id, seq) unique index).
_EVENTS_OF = sa_select(col(AuditEvent.request_id), col(AuditEvent.seq), col(AuditEvent.action),
                       col(AuditEvent.at), col(AuditEvent.data)).where(
    col(AuditEvent.request_id).in_(bindparam("ids", expanding=True)))
# The service's own case records about the customers (the customer_number index).
_CASES_OF = sa_select(col(DsrRequest.id), col(DsrRequest.customer_number), col(DsrRequest.type),
                      col(DsrRequest.status), col(DsrRequest.channel),
                      col(DsrRequest.received_at), col(DsrRequest.finished_at),
                      col(DsrRequest.details)).where(
    col(DsrRequest.customer_number).in_(bindparam("customers", expanding=True)))


async def load_inputs(
    session: AsyncSession, request: DsrRequest, vault: Vault, *,
    lift_notice_s: float | None = None,
) -> PackageInputs:
    """A plain snapshot of everything the package needs, partner data decrypted.
    ``lift_notice_s``: the notice period a lift letter built now states (DSR_LIFT_NOTICE_S)."""
    return (await load_inputs_of(session, [request], vault,
                                 lift_notice_s=lift_notice_s))[request.id]


async def load_inputs_of(
    session: AsyncSession, requests: list[DsrRequest], vault: Vault, *,
    lift_notice_s: float | None = None,
) -> dict[uuid.UUID, PackageInputs]:
    """:func:`load_inputs` of several requests, in three queries whatever their number."""
    ids = [request.id for request in requests]
    tasks: dict[uuid.UUID, list[Task]] = {request_id: [] for request_id in ids}
    for task in await session.scalars(_TASKS_OF, {"ids": ids}):
        tasks[task.request_id].append(task)
    results = {row.task_id: row for row in await session.scalars(_RESULTS_OF, {"ids": ids})}
    links: dict[str, dict[str, str]] = {request.customer_number: {} for request in requests}
    for link in await session.scalars(_LINKS_OF, {"customers": sorted(links)}):
        links[link.customer_number][link.system] = link.external_id
    events: dict[uuid.UUID, list[EventFact]] = {request_id: [] for request_id in ids}
    for row in await session.execute(_EVENTS_OF, {"ids": ids}):
        task_id = (row.data or {}).get("task_id")
        events[row.request_id].append(EventFact(row.seq, row.action, row.at,
                                                str(task_id) if task_id else None))
    cases = await _case_records(session, [r for r in requests
                                          if r.type is RequestType.access])
    return {request.id: _inputs(request, tasks[request.id], results,
                                links[request.customer_number], vault, lift_notice_s,
                                events=events[request.id],
                                cases=cases.get(request.customer_number, []))
            for request in requests}


async def _case_records(
    session: AsyncSession, requests: list[DsrRequest],
) -> dict[str, list[CaseRecord]]:
    """Art. 15: the service's own records about each customer of an access request."""
    if not requests:
        return {}
    found: dict[str, list[CaseRecord]] = {}
    customers = sorted({r.customer_number for r in requests})
    for row in await session.execute(_CASES_OF, {"customers": customers}):
        details = row.details or {}
        found.setdefault(row.customer_number, []).append(CaseRecord(
            id=str(row.id), type=str(getattr(row.type, "value", row.type)),
            status=str(getattr(row.status, "value", row.status)),
            channel=str(getattr(row.channel, "value", row.channel)),
            received_at=row.received_at, finished_at=row.finished_at,
            grounds=str(details["grounds"]) if isinstance(details.get("grounds"), str)
            and details.get("grounds") != "retention_policy" else None))
    for records in found.values():
        records.sort(key=lambda record: record.received_at)
    return found


def _inputs(request: DsrRequest, tasks: list[Task], results: dict[uuid.UUID, TaskResult],
            links: dict[str, str], vault: Vault,
            lift_notice_s: float | None = None, *, events: list[EventFact] | None = None,
            cases: list[CaseRecord] | None = None) -> PackageInputs:
    order = {name: i for i, name in enumerate(PARTNERS)}
    tasks = sorted(tasks, key=lambda task: (order.get(task.system, len(order)), task.action))
    systems = []
    for task in tasks:
        spec = PARTNERS.get(task.system)
        outcome = task.outcome or {}
        row = results.get(task.id)
        systems.append(SystemResult(
            system=task.system, title=spec.title if spec else task.system,
            key=spec.key if spec else "", action=task.action, status=task.status.value,
            summary=str(outcome.get("summary") or ""), finished_at=task.finished_at,
            retained=list(outcome.get("retained") or (task.params or {}).get("items") or []),
            data=vault.open(row.ciphertext) if row is not None else None,
            uncertain=bool(outcome.get("uncertain")),
            scheduled_for=task.scheduled_for, code=outcome.get("code"),
            params=dict(outcome.get("params") or {}), id=str(task.id),
        ))
    facts = RequestFacts(
        id=str(request.id), type=request.type.value, status=request.status.value,
        customer_number=request.customer_number, language=request.language.value,
        received_at=request.received_at, finished_at=request.finished_at,
        details=dict(request.details), note=request.note,
        reject_reason=request.reject_reason.value if request.reject_reason else None,
        extension={"months": request.extended_months, "reason": request.extension_reason,
                   "due_at": request.due_at.isoformat()} if request.extended_months else None,
        # reason, requested_at, notice_delivered_at, lift_from, notice_period_s (services.lift)
        lift=lift.facts(request, tasks, lift_notice_s) if request.lift_reason else None,
        channel=request.channel.value, verified=request.verified_at is not None,
        events=tuple(sorted(events or [], key=lambda event: event.seq)),
    )
    return PackageInputs(facts, systems, dict(links), case_records=list(cases or []))
