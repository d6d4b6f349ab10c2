"""The partner task as a job kind: claim due tasks, call their partners, record the outcomes.

The database is the queue. A worker claims a batch of due tasks in one short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers anyway), marking each
``running`` with a lease. It then calls the connectors outside any transaction, and records
each answer in a new transaction, provided it still holds the lease. A worker that dies leaves
leases that expire; the next claim takes those tasks again. Partner calls carry the task id as
their idempotency key, so a retaken task is never applied twice.

Due means: ``pending`` and its retry time has come; ``running`` with an expired lease; or
``awaiting_callback`` past the time to poll the partner (a callback that never came).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db_outage
from app.connectors.base import Connector
from app.db import unit_of_work, utcnow
from app.dispatch import calls, failures, holds, rules
from app.dispatch.calls import Claimed
from app.errors import ConnectorError, PermanentError, TransientError
from app.metrics import Metrics
from app.models import DsrRequest, Task, TaskStatus
from app.services import lifecycle, recorder
from app.services import tasks as task_service
from app.services.vault import Vault
from app.settings import Settings
from app.worker import lease

log = logging.getLogger("app.dispatch")


class PartnerTasks:
    """The job kind of partner tasks (:class:`app.worker.kinds.JobKind` of :class:`Claimed`)."""

    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
        connectors: dict[str, Connector], *, writer: recorder.Recorder, vault: Vault,
        metrics: Metrics, rng: random.Random, worker_id: str, as_of: date | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.connectors = connectors
        self.recorder = writer
        self.vault = vault
        self.metrics = metrics
        self.rng = rng
        self.worker_id = worker_id
        # ``dsr retention run --as-of``: what is due is judged at the end of that day, and
        # partners in the sandbox are told the date (Sandbox-As-Of); otherwise real time.
        self.as_of = as_of
        holds.install_holds(sessionmaker)  # every transaction here releases what it unblocks

    def clock(self, as_of: date | None) -> Callable[[], datetime]:
        return (lambda: datetime.combine(as_of, time.max, tzinfo=UTC)) if as_of else utcnow

    # -- claiming -------------------------------------------------------------------------------

    async def claim(self, limit: int, *, as_of: date | None = None) -> list[Claimed]:
        """Lease up to ``limit`` due tasks of verified, open requests."""
        if limit <= 0:
            return []
        as_of = as_of or self.as_of
        now, due = utcnow(), self.clock(as_of)()
        async with unit_of_work(self.sessionmaker) as session:
            simulated = due > now
            params = {"now": now, "limit": limit, **({"scheduled_by": due} if simulated else {})}
            rows = [(row[0], row[1]) for row in await session.execute(
                calls.claim_statement(as_of=simulated), params)]
            # what the claim walked past (blocked by ordering) is held in a moment, so that no
            # claim looks at it again until the task before it leaves the queue
            walked = now if len(rows) < limit else max(
                (task.ready_at for task, _ in rows if task.ready_at is not None), default=now)
            blocked = await holds.candidates(session, min(walked, now))
            found = await calls.links(session, {req.customer_number for _, req in rows})
            # only a write that must not follow an erasure asks which erasure came before it
            erasures = await rules.erasures(session, rows)
            claimed: list[Claimed] = []
            for task, request in rows:
                token = lease.token(self.worker_id)
                closing = request.closing_as is not None and task.scheduled_for is None
                # A task of a closing request whose lease ran out may have reached the partner:
                # it is asked, never sent again.
                polling = task.status is TaskStatus.awaiting_callback or (
                    closing and rules.asks_when_closing(task.system))
                abandon = closing and not polling
                if not polling and not abandon:
                    task.attempts += 1
                    task.status = TaskStatus.running
                task.lease_owner = token
                task.lease_until = now + timedelta(seconds=self.settings.lease_s)
                if polling:  # hold the poll back for a lease period while we ask
                    task.status = TaskStatus.awaiting_callback
                    task.next_attempt_at = task.lease_until
                task.updated_at = now
                link = calls.link_for(task, request, found)
                task.subject_ref = link or task.subject_ref
                call = calls.build_call(
                    task, request, link, service_url=self.settings.service_url,
                    erased_by=rules.erased_before(task, request, erasures.get(task.id, [])),
                    as_of=as_of)
                claimed.append(Claimed(call, polling, token, abandon=abandon))
        await holds.hold(self.sessionmaker, blocked)
        return claimed

    # -- executing ------------------------------------------------------------------------------

    async def execute(self, claimed: Claimed) -> None:
        """Carry out one claimed task and record the result (never raises).

        Whatever goes wrong, the task is not left open: an error while recording the answer
        (a bug, a value the database refuses) fails the task with a reason an agent can read
        (the logs have the error's type, never its message: it may hold SQL or data). Only
        a database that cannot be reached (or is busy) is retried; if the failure cannot be
        written either, the lease runs out and the task is taken again."""
        try:
            await self._run(claimed)
        except Exception as exc:
            call = claimed.call
            db_outage.failed(log, "recording a task's result failed", exc,
                             task_id=str(call.task_id))
            unreachable = db_outage.database_unreachable(exc)
            error: ConnectorError = TransientError(
                "the service's database could not be reached to record the answer") \
                if unreachable else PermanentError(
                    f"The service could not record {call.system}'s answer (an internal "
                    f"error: {type(exc).__name__}); nothing of it was kept. See the service "
                    "logs for this task, then retry it or complete it by hand.")
            try:
                await self.on_error(claimed, error, transient=unreachable)
            except Exception as again:
                db_outage.failed(log, "recording a task's failure failed; its lease will run "
                                 "out", again, task_id=str(call.task_id))

    async def _run(self, claimed: Claimed) -> None:
        call = claimed.call
        connector = self.connectors.get(call.system)
        started = asyncio.get_running_loop().time()
        try:
            if claimed.abandon:
                await self.on_result(claimed, outcome=rules.uncertain_abandon(call))
                return
            if connector is None:
                raise PermanentError("No connector is configured for this system.")
            if not call.link:
                raise PermanentError("The customer has no link (pseudonymous ID) for this system.")
            erased = call.erased_by
            if erased is not None and erased.status is TaskStatus.done and not claimed.polling:
                await self.on_result(claimed, outcome=erased.outcome(
                    f"{call.system} holds nothing about the customer any more, so nothing was "
                    "written back."))
                return
            self.metrics.partner_calls.labels(system=call.system).inc()
            outcome = await (connector.poll(call) if claimed.polling else connector.execute(call))
        except TransientError as exc:
            await self.on_error(claimed, exc, transient=True)
        except ConnectorError as exc:
            await self.on_error(claimed, exc, transient=False)
        except Exception as exc:  # a bug in a connector must not kill the worker
            log.error("connector crashed", extra={"task_id": str(call.task_id),
                                                  "error_type": type(exc).__name__})
            await self.on_error(claimed, PermanentError(
                "The connector failed unexpectedly; see the service logs."), transient=False)
        else:
            if outcome is None:  # polled, still running at the partner
                await self.on_result(claimed, poll_again=True)
            else:
                await self.on_result(claimed, outcome=outcome)
        finally:
            elapsed = asyncio.get_running_loop().time() - started
            self.metrics.call_seconds.labels(system=call.system).observe(elapsed)
            log.info("task attempt", extra={
                "task_id": str(call.task_id), "dsr_request_id": str(call.request_id),
                "system": call.system, "attempt": call.attempt,
                "duration_ms": round(elapsed * 1000, 1)})

    async def _held(
        self, session: AsyncSession, claimed: Claimed
    ) -> tuple[DsrRequest, Task] | None:
        """The request and task, locked, if this claim still holds the task's lease (else
        None: the answer is dropped, the task is someone else's now)."""
        call = claimed.call
        request = await lifecycle.lock_request(session, call.request_id)
        task = await recorder.locked_task(session, call.task_id, call.request_id)
        if task is None or not lease.held(task.lease_owner, claimed.lease):
            log.info("lease lost; result dropped", extra={"task_id": str(call.task_id)})
            return None
        if request.status not in lifecycle.ACTIVE and task.scheduled_for is None:
            task.lease_owner = task.lease_until = None
            return None
        return request, task

    async def on_result(
        self, claimed: Claimed, *, outcome: Any = None, poll_again: bool = False
    ) -> None:
        async def work(session: AsyncSession) -> datetime | None:
            """The task's creation time if it is now final (for the latency metric)."""
            held = await self._held(session, claimed)
            if held is None:
                return None
            request, task = held
            if poll_again:
                task.lease_owner = task.lease_until = None
                task.next_attempt_at = utcnow() + timedelta(
                    seconds=min(self.settings.callback_timeout_s, 60.0))
                return None
            poll_at = utcnow() + timedelta(seconds=self.settings.callback_timeout_s)
            await task_service.apply_outcome(
                session, request=request, task=task, outcome=outcome, vault=self.vault,
                callback_poll_at=poll_at,
            )
            return task.created_at if task.status in lifecycle.TASK_FINAL else None

        created = await self.recorder.write(claimed.call.task_id, work,
                                            group=claimed.call.request_id)
        if created is not None:
            self.metrics.task_latency.labels(system=claimed.call.system).observe(
                (utcnow() - created).total_seconds())

    async def on_error(
        self, claimed: Claimed, exc: ConnectorError, *, transient: bool
    ) -> None:
        async def work(session: AsyncSession) -> bool:
            """True if a retry was scheduled (for the metric)."""
            held = await self._held(session, claimed)
            if held is None:
                return False
            request, task = held
            return await failures.apply_error(
                session, request, task, exc, transient=transient, polling=claimed.polling,
                settings=self.settings, vault=self.vault, rng=self.rng)

        if await self.recorder.write(claimed.call.task_id, work,
                                     group=claimed.call.request_id):
            self.metrics.retries.labels(system=claimed.call.system).inc()
