"""Scheduled work that keeps the policy's promises over time, and the job that runs it.

- **The post-contract rule** (the privacy policy: locked six months after the contract ends,
  deleted after twelve, accounting data excepted): :func:`sweep` asks the own register for
  contracts that ended before the lock date and starts a system-initiated request (channel
  ``retention``) for each customer due one: a ``restriction`` (the lock) or, twelve months on,
  an ``erasure``. They go through the same connectors, ordering, audit trail and answers as a
  customer's own. Running the sweep twice creates nothing twice (an existing request of that
  kind is found; a concurrent sweep loses on a unique key).
- **Deferred erasure** is scheduled work on the erasure's own request (``services.tasks``):
  the dispatcher claims it when due like any task.
- :func:`run_job_if_due` runs a recurring job in exactly one worker (a leased row in
  ``scheduled_job``), and :func:`run_retention` is ``dsr retention run``.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.db import unit_of_work, utcnow
from app.models import (
    Channel,
    DsrRequest,
    IdempotencyKey,
    RequestStatus,
    RequestType,
    ScheduledJob,
    Task,
    TaskStatus,
)
from app.services.requests import RETENTION_ACTOR, create_system_request
from app.settings import Settings

log = logging.getLogger("app.sweep")
SWEEP_JOB = "retention_sweep"
JOB_LEASE_S = 3600.0
LOCK_GROUNDS = "retention_policy"  # not an art. 18 ground: the policy's own lock


@dataclass(frozen=True, slots=True)
class SweepItem:
    customer_number: str
    ended_on: date
    kind: RequestType
    request_id: uuid.UUID | None
    created: bool  # False: it existed already (or, in a dry run, would be created)

    def line(self, dry_run: bool) -> str:
        what = "lock (restriction)" if self.kind is RequestType.restriction else "erasure"
        if self.created:
            state = f"request {self.request_id} created"
        elif self.request_id is not None:
            state = f"already requested ({self.request_id})"
        else:
            state = "would be created" if dry_run else "skipped"
        return (f"retention: {self.customer_number} contract ended {self.ended_on}: "
                f"{what} {state}")


async def _existing(session: AsyncSession, customer: str, kind: RequestType) -> DsrRequest | None:
    """The retention request of this kind already made; for an erasure, also the customer's
    own erasure (unless it was refused or withdrawn): the data is already being erased."""
    stmt = select(DsrRequest).where(col(DsrRequest.customer_number) == customer,
                                    col(DsrRequest.type) == kind)
    if kind is RequestType.erasure:
        stmt = stmt.where(or_(
            col(DsrRequest.channel) == Channel.retention,
            col(DsrRequest.status).not_in([RequestStatus.rejected, RequestStatus.cancelled])))
    else:
        stmt = stmt.where(col(DsrRequest.channel) == Channel.retention)
    found: DsrRequest | None = (await session.scalars(
        stmt.order_by(col(DsrRequest.received_at)).limit(1))).first()
    return found


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], crm: Any, settings: Settings, *,
    as_of: date, dry_run: bool = False,
) -> list[SweepItem]:
    """Start the lock and erasure requests due at ``as_of`` (or list them, in a dry run)."""
    lock_before = as_of - relativedelta(months=settings.retention_lock_months)
    erase_before = as_of - relativedelta(months=settings.retention_erase_months)
    items: list[SweepItem] = []
    for customer, ended in await crm.ended_contracts(before=lock_before + timedelta(days=1)):
        kind = RequestType.erasure if ended <= erase_before else RequestType.restriction
        async with unit_of_work(sessionmaker) as session:
            existing = await _existing(session, customer, kind)
            if existing is None and kind is RequestType.restriction:
                existing = await _existing(session, customer, RequestType.erasure)
            if existing is not None:
                items.append(SweepItem(customer, ended, kind, existing.id, False))
                continue
            if dry_run:
                items.append(SweepItem(customer, ended, kind, None, False))
                continue
            created = await _create_once(session, customer, kind, ended)
            items.append(SweepItem(customer, ended, kind, created.id if created else None,
                                   created is not None))
    return items


async def _create_once(
    session: AsyncSession, customer: str, kind: RequestType, ended: date
) -> DsrRequest | None:
    """The request, under a unique key so that two sweeps at once make one."""
    # The date the contract ended is what the notice to the customer rests on ("eftersom
    # ditt avtal upphörde den ..."): it is recorded on the request, as a date, not a person.
    details: dict[str, Any] = {"contract_ended_on": ended.isoformat()}
    if kind is RequestType.restriction:
        details["grounds"] = LOCK_GROUNDS
    reason = (f"the privacy policy: the contract ended on {ended}, data is "
              + ("locked after six months" if kind is RequestType.restriction
                 else "erased after twelve months, accounting data excepted"))
    try:
        async with session.begin_nested():
            request = await create_system_request(
                session, customer_number=customer, type_=kind, details=details, reason=reason)
            session.add(IdempotencyKey(scope=f"{RETENTION_ACTOR[0]}:", key=f"{kind.value}:"
                                       f"{customer}", body_sha256="0" * 64,
                                       request_id=request.id))
            await session.flush()
    except IntegrityError:
        return None
    return request


async def run_job_if_due(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, *, interval_s: float,
    job: Callable[[], Awaitable[dict[str, Any]]], owner: str | None = None,
) -> dict[str, Any] | None:
    """Run ``job`` if ``name`` is due and no other worker holds it; None if it did not run."""
    owner = owner or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    try:
        async with unit_of_work(sessionmaker) as session:
            row = (await session.scalars(
                select(ScheduledJob).where(col(ScheduledJob.name) == name)
                .with_for_update(skip_locked=True))).first()
            if row is None:
                if await session.get(ScheduledJob, name) is not None:
                    return None  # another worker holds the row right now
                row = ScheduledJob(name=name, next_run_at=now)
                session.add(row)
                await session.flush()
            if row.next_run_at > now or (row.lease_until is not None and row.lease_until > now):
                return None
            row.lease_owner, row.lease_until = owner, now + timedelta(seconds=JOB_LEASE_S)
    except IntegrityError:
        return None  # two workers created the row at once; the other one runs it
    result: dict[str, Any]
    try:
        result = await job()
    except Exception as exc:  # the job is tried again next interval
        log.error("scheduled job failed", extra={"job": name, "error_type": type(exc).__name__})
        result = {"error": type(exc).__name__}
    async with unit_of_work(sessionmaker) as session:
        row = await session.get(ScheduledJob, name, with_for_update=True)
        if row is not None and row.lease_owner == owner:
            finished = utcnow()
            row.last_run_at, row.last_result = finished, result
            row.next_run_at = finished + timedelta(seconds=interval_s)
            row.lease_owner = row.lease_until = None
    return result


# -- dsr retention run ---------------------------------------------------------------------------


async def due_scheduled(session: AsyncSession, as_of: date) -> list[Task]:
    end = datetime.combine(as_of, time.max, tzinfo=UTC)
    rows = await session.scalars(
        select(Task).where(col(Task.status) == TaskStatus.scheduled,
                           col(Task.scheduled_for) <= end)
        .order_by(col(Task.scheduled_for)))
    return list(rows)


async def run_retention(settings: Settings, *, as_of: date, dry_run: bool) -> list[str]:
    """Everything due at ``as_of``, once: the sweep, then every due task (deferred erasures
    included). Returns the lines ``dsr retention run`` prints."""
    from app.runtime import build_runtime
    from app.services.dispatch import Dispatcher

    lines: list[str] = []
    async with build_runtime(settings) as runtime:
        items = await sweep(runtime.sessionmaker, runtime.connectors["crm"], settings,
                            as_of=as_of, dry_run=dry_run)
        lines += [item.line(dry_run) for item in items]
        async with runtime.sessionmaker() as session:
            due = await due_scheduled(session, as_of)
        if dry_run:
            lines += [f"scheduled: {t.system} {t.action} task {t.id} (request {t.request_id}), "
                      f"due {t.scheduled_for.date() if t.scheduled_for else '?'}: would run"
                      for t in due]
            return lines or ["nothing is due"]
        simulated = as_of if as_of != utcnow().date() else None
        dispatcher = Dispatcher(settings, runtime.sessionmaker, runtime.connectors,
                                vault=runtime.vault, metrics=runtime.metrics, as_of=simulated)
        ran: list[uuid.UUID] = []
        for _ in range(100):
            batch = await dispatcher.claim(settings.worker_concurrency)
            if not batch:
                break
            for claimed in batch:
                await dispatcher.run_one(claimed)
                ran.append(claimed.call.task_id)
        async with runtime.sessionmaker() as session:
            for task_id in ran:
                task = await session.get(Task, task_id)
                if task is None:
                    continue
                summary = (task.outcome or {}).get("summary", "")
                later = (f"; next {task.scheduled_for.date()}"
                         if task.status is TaskStatus.scheduled and task.scheduled_for else "")
                lines.append(f"ran: {task.system} {task.action} task {task.id} (request "
                             f"{task.request_id}): {task.status.value}{later} - {summary}")
    return lines or ["nothing is due"]
