"""The durable dispatcher: claims due tasks from the database and carries them out.

The database is the queue. A worker claims a batch of due tasks in one short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers anyway), marking each
``running`` with a lease. It then calls the connectors outside any transaction, and records
each answer in a new transaction, provided it still holds the lease. A worker that dies leaves
leases that expire; the next claim takes those tasks again. Partner calls carry the task id as
their idempotency key, so a retaken task is never applied twice.

Due means: ``pending`` and its retry time has come; ``running`` with an expired lease; or
``awaiting_callback`` past the time to poll the partner (a callback that never came).

New work is picked up at once: a commit that creates work wakes the in-process worker (an
asyncio event), and on PostgreSQL also ``NOTIFY dsr_tasks`` wakes workers in other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, event, exists, make_url, or_, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.connectors.base import Call, Connector, ErasedBy, Outcome
from app.connectors.catalog import SYSTEMS
from app.db import unit_of_work, utcnow
from app.errors import ConnectorError, PermanentError, TransientError
from app.metrics import Metrics
from app.models import DsrRequest, Link, RequestType, Task, TaskAction, TaskStatus
from app.notifications.delivery import Notifier
from app.services import lifecycle, recorder
from app.services import tasks as task_service
from app.services.foreground import Foreground
from app.services.lifecycle import SYSTEM_ACTOR
from app.services.signals import ANSWER_SIGNAL
from app.services.vault import Vault
from app.settings import CALLBACK_SYSTEMS, Settings

LIFT_ACTION = TaskAction.lift_restriction.value

log = logging.getLogger("app.dispatch")
NOTIFY_CHANNEL = "dsr_tasks"
IDLE_POLL_S = 2.0  # the longest a worker sleeps without a wake-up (retries, lease expiry)
SWEEP_CHECK_S = 60.0  # how often a worker asks whether the retention sweep is due
# Answers are built when no task is in flight, or each once it has waited this long since its
# request became final: building one took as much CPU as carrying out a request, and took it
# from the requests in flight. (A download builds one at once, whatever the wait.)
ANSWER_DEFER_S = 5.0
# While the worker has a backlog (its last claim took every free slot: more was due than it
# could take), an answer waits for the backlog to clear, at most this long: the answers are
# off the path of the requests still to be carried out. A download builds one at once.
ANSWER_BACKLOG_S = 60.0


def _claim_again(slots: int) -> int:
    """Free slots (of ``slots`` usable now) that make a starved worker claim again: a quarter
    (one claim per freed slot, or per request posted meanwhile, made claiming a tenth of a
    burst's work)."""
    return max(1, slots // 4)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(slots=True)
class Claimed:
    call: Call
    polling: bool  # True: the task awaits a callback and the partner is polled instead
    # This claim's own lease token: a worker that claims the same task again after its lease
    # ran out must not have the first, late answer accepted as if it were the second.
    lease: str = ""
    # The request is being closed and this task's partner cannot be asked how an attempt
    # that lost its lease went: it is recorded as cancelled with that uncertainty stated.
    abandon: bool = False


_LINKS = select(col(Link.customer_number), col(Link.system), col(Link.external_id)).where(
    col(Link.customer_number).in_(bindparam("customers", expanding=True)))
# Request types that write to a record, and so must not follow an erasure there.
WRITES_AFTER_ERASURE = frozenset({RequestType.rectification, RequestType.restriction})


def _erased_before(
    task: Task, request: DsrRequest, erasures: list[tuple[DsrRequest, Task]]
) -> ErasedBy | None:
    """The latest erasure carried out at this task's system for a request received earlier."""
    if request.type not in WRITES_AFTER_ERASURE:
        return None
    found: tuple[DsrRequest, Task] | None = None
    for erasure, erased in erasures:
        if erased.system != task.system or erasure.id == request.id:
            continue
        if (erasure.received_at, str(erasure.id)) >= (request.received_at, str(request.id)):
            continue
        if found is None or erasure.received_at > found[0].received_at:
            found = (erasure, erased)
    if found is None:
        return None
    erasure, erased = found
    when = erased.finished_at or erased.updated_at
    return ErasedBy(erasure.id, when.date().isoformat(), erased.status)


def _uncertain_abandon(call: Call) -> Outcome:
    return Outcome(
        TaskStatus.cancelled,
        f"Stopped with the request. An attempt was under way at {call.system} when its worker "
        "stopped, so whether it was applied there is not known.", uncertain=True)


def install_wakeup(
    sessionmaker: async_sessionmaker[AsyncSession], wake: asyncio.Event,
    answer_due: Callable[[], None] | None = None,
    blocked: Callable[[], frozenset[tuple[str, str]] | None] | None = None,
) -> None:
    """Wake the in-process worker after any commit that created dispatchable work.

    A flush that moves a task out of the queued and in-flight states may release a later
    request's task at that system (per-customer ordering): it wakes the worker when
    ``blocked()`` says a task of that customer at that system is waiting (None: not known,
    so it wakes). ``answer_due()`` is called when a request became final (its answer is to be
    built: Dispatcher.answer_due), so the worker neither polls for either nor asks the
    database on every wake-up.
    """

    session_class = sessionmaker.kw["sync_session_class"]

    @event.listens_for(session_class, "after_flush")
    def _watch(session: Any, _context: Any) -> None:
        for obj in session.dirty:
            if isinstance(obj, Task) and obj.status not in lifecycle.TASK_BLOCKING \
                    and _changed(obj, "status"):
                session.info.setdefault(RELEASED, set()).add((obj.customer_number, obj.system))
            elif isinstance(obj, DsrRequest) and obj.status in lifecycle.FINAL \
                    and _changed(obj, "status"):
                session.info[ANSWER_SIGNAL] = True

    @event.listens_for(session_class, "before_commit")
    def _notify(session: Any) -> None:
        if (lifecycle.has_signal(session) or session.info.get(RELEASED)) \
                and session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # other processes' waiting work

    @event.listens_for(session_class, "after_commit")
    def _wake(session: Any) -> None:
        if session.info.pop(ANSWER_SIGNAL, False) and answer_due is not None:
            answer_due()
        released = session.info.pop(RELEASED, None)
        if lifecycle.take_signal(session):
            wake.set()
        elif released:
            waiting = blocked() if blocked is not None else None
            if waiting is None or not waiting.isdisjoint(released):
                wake.set()

    @event.listens_for(session_class, "after_rollback")
    def _drop(session: Any) -> None:
        session.info.pop(ANSWER_SIGNAL, None)
        session.info.pop(RELEASED, None)
        lifecycle.take_signal(session)


RELEASED = "dsr_released"  # (customer, system) of tasks a flush took out of the queue


def _changed(obj: Any, attribute: str) -> bool:
    return bool(sa_inspect(obj).attrs[attribute].history.has_changes())


class Dispatcher:
    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
        connectors: dict[str, Connector], *, wake: asyncio.Event | None = None,
        worker_id: str | None = None, rng: random.Random | None = None,
        metrics: Metrics | None = None, vault: Vault | None = None,
        as_of: date | None = None, notifier: Notifier | None = None,
        answers: asyncio.Event | None = None, writer: recorder.Recorder | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.settings = settings
        # Outcomes are written by this process's group-commit recorder (services.recorder).
        self.recorder = writer or recorder.Recorder(sessionmaker)
        self.sessionmaker = sessionmaker
        self.connectors = connectors
        self.vault = vault or Vault(settings)
        # ``dsr retention run --as-of``: what is due is judged at the end of that day, and
        # partners in the sandbox are told the date (Sandbox-As-Of); otherwise real time.
        self.as_of = as_of
        self.clock: Callable[[], datetime] = (
            (lambda: datetime.combine(as_of, time.max, tzinfo=UTC)) if as_of else utcnow)
        self.metrics = metrics or Metrics()
        self.wake = wake or asyncio.Event()
        # Set when a request became final: its answer is to be built (see install_wakeup).
        self.answers = answers or asyncio.Event()
        # The last claim took as many tasks as there were free slots: more may be due, so a
        # slot that frees up is a reason to claim again (otherwise new work wakes the worker).
        self._starved = False
        self._answers_since: float | None = None  # when answers to build were first seen
        # (customer, system) of due tasks that per-customer ordering held back at the last
        # claim; None: not known (the claim filled every slot). See install_wakeup.
        self.blocked: frozenset[tuple[str, str]] | None = None
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._builder: asyncio.Task[None] | None = None
        self.notifier = notifier
        self._side_jobs: dict[str, asyncio.Task[Any]] = {}
        # The API calls this process serves: while it is busy, the worker yields to intake.
        self.foreground = foreground
        if foreground is not None:
            foreground.on_quiet(self._api_quiet)

    # -- claiming -------------------------------------------------------------------------------

    @staticmethod
    def _not_blocked() -> Any:
        """Per-customer ordering: no earlier request's task at the same system is queued or in
        flight. Requests for one customer reach each system in order of receipt, so a
        rectification received after an erasure finds the erasure already applied. Two reads
        (exports) do not wait for each other: neither changes what the other sees, so a read
        looks only for earlier writes, and a customer's many queued reads cost nothing (each
        check is a probe of the (customer, system, writes, status) index)."""
        return or_(
            and_(col(Task.writes).is_(False), ~Dispatcher._earlier_open(writes_only=True)),
            and_(col(Task.writes).is_(True), ~Dispatcher._earlier_open(writes_only=False)),
        )

    @staticmethod
    def _earlier_open(*, writes_only: bool) -> Any:
        earlier_task, earlier = aliased(Task), aliased(DsrRequest)
        return exists().where(
            col(earlier_task.customer_number) == col(Task.customer_number),
            col(earlier_task.system) == col(Task.system),
            *([col(earlier_task.writes).is_(True)] if writes_only else []),
            col(earlier_task.status).in_([s.value for s in lifecycle.TASK_BLOCKING]),
            col(earlier_task.request_id) != col(Task.request_id),
            col(earlier.id) == col(earlier_task.request_id),
            or_(col(earlier.received_at) < col(DsrRequest.received_at),
                and_(col(earlier.received_at) == col(DsrRequest.received_at),
                     col(earlier.id) < col(DsrRequest.id))),
            col(earlier.status).in_([s.value for s in lifecycle.ACTIVE]),
        )

    @staticmethod
    @functools.cache
    def _claim_statement(*, as_of: bool) -> Any:
        """The claim query, built once: building it (aliases, subqueries) cost more than
        running it. Parameters: ``now``, ``limit`` and, with ``as_of``, ``scheduled_by``.

        Due means ``Task.ready_at`` has come (a fresh or retried task's time, an expired
        lease, a callback's time to poll, scheduled work's date); the claim walks that index
        in order and stops at its limit. Only scheduled work is judged by ``scheduled_by``
        (the as-of date of a ``dsr retention run``); leases, retries and polls always go by
        real time, and so does a restriction's lift: its notice period is a promise to the
        customer (services.lift), which a simulated date must not shorten. A lift task is
        claimable at all only once the customer's notice was delivered and the period set
        (before that it has no ``ready_at``): the gate costs the claim nothing."""
        ready = col(Task.ready_at)
        due = ready <= bindparam("now") if not as_of else or_(
            ready <= bindparam("now"),
            and_(col(Task.status) == TaskStatus.scheduled, col(Task.action) != LIFT_ACTION,
                 ready <= bindparam("scheduled_by")))
        return (
            select(Task, DsrRequest)
            .join(DsrRequest, col(DsrRequest.id) == col(Task.request_id))
            .where(due)
            # scheduled work (a deferred erasure) runs whatever the request's status
            .where(or_(col(DsrRequest.status).in_([s.value for s in lifecycle.ACTIVE]),
                       col(Task.scheduled_for).is_not(None)))
            .where(or_(col(Task.status) == TaskStatus.awaiting_callback,
                       Dispatcher._not_blocked()))
            .order_by(ready)
            .limit(bindparam("limit"))
            .with_for_update(of=Task, skip_locked=True)
        )

    @staticmethod
    @functools.cache
    def _blocked_statement() -> Any:
        """Which customers' tasks at which systems are due but held back by per-customer
        ordering: only a task leaving the queue there is a reason to claim again."""
        return (
            select(col(Task.customer_number), col(Task.system))
            .join(DsrRequest, col(DsrRequest.id) == col(Task.request_id))
            .where(col(Task.ready_at) <= bindparam("now"),
                   col(Task.status) == TaskStatus.pending,
                   col(DsrRequest.status).in_([s.value for s in lifecycle.ACTIVE]),
                   ~Dispatcher._not_blocked())
            .distinct().limit(256)
        )

    async def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due tasks of verified, open requests."""
        if limit <= 0:
            return []
        now, due = utcnow(), self.clock()
        async with unit_of_work(self.sessionmaker) as session:
            as_of = due > now
            params = {"now": now, "limit": limit, **({"scheduled_by": due} if as_of else {})}
            rows = [(row[0], row[1]) for row in await session.execute(
                self._claim_statement(as_of=as_of), params)]
            self.blocked = None if len(rows) == limit else frozenset(
                (customer, system) for customer, system in await session.execute(
                    self._blocked_statement(), {"now": now}))
            customers = {req.customer_number for _, req in rows}
            links = await self._links(session, customers)
            # only a write that must not follow an erasure asks which erasures were done
            erasures = await self._erasures(session, {
                req.customer_number for _, req in rows if req.type in WRITES_AFTER_ERASURE})
            claimed: list[Claimed] = []
            for task, request in rows:
                lease = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
                closing = request.closing_as is not None and task.scheduled_for is None
                # A task of a closing request whose lease ran out may have reached the partner:
                # it is asked, never sent again.
                polling = task.status is TaskStatus.awaiting_callback or (
                    closing and task.system in CALLBACK_SYSTEMS)
                abandon = closing and not polling
                if not polling and not abandon:
                    task.attempts += 1
                    task.status = TaskStatus.running
                task.lease_owner = lease
                task.lease_until = now + timedelta(seconds=self.settings.lease_s)
                if polling:  # hold the poll back for a lease period while we ask
                    task.status = TaskStatus.awaiting_callback
                    task.next_attempt_at = task.lease_until
                task.updated_at = now
                link = self._link_for(task, request, links)
                task.subject_ref = link or task.subject_ref
                call = self._call(task, request, link, _erased_before(task, request, erasures))
                claimed.append(Claimed(call, polling, lease, abandon=abandon))
            return claimed

    @staticmethod
    async def _erasures(
        session: AsyncSession, customers: set[str]
    ) -> list[tuple[DsrRequest, Task]]:
        """The customers' erasure tasks that have been carried out (done or retained)."""
        if not customers:
            return []
        rows = await session.execute(
            select(DsrRequest, Task)
            .join(Task, col(Task.request_id) == col(DsrRequest.id))
            .where(col(DsrRequest.customer_number).in_(customers),
                   col(DsrRequest.type) == RequestType.erasure,
                   col(Task.status).in_([TaskStatus.done, TaskStatus.retained])))
        return [(row[0], row[1]) for row in rows]

    @staticmethod
    async def _links(
        session: AsyncSession, customers: set[str]
    ) -> dict[tuple[str, str], str]:
        if not customers:
            return {}
        rows = await session.execute(_LINKS, {"customers": sorted(customers)})
        return {(customer, system): external_id for customer, system, external_id in rows}

    @staticmethod
    def _link_for(task: Task, request: DsrRequest, links: dict[tuple[str, str], str]) -> str:
        spec = SYSTEMS.get(task.system)
        if spec is not None and not spec.needs_link:
            return request.customer_number
        return links.get((request.customer_number, task.system), "")

    def _call(
        self, task: Task, request: DsrRequest, link: str, erased_by: ErasedBy | None = None
    ) -> Call:
        details = request.details
        spec = SYSTEMS.get(task.system)
        held = set(spec.holds) if spec else set()
        changes = {k: v for k, v in (details.get("changes") or {}).items() if k in held}
        options = {k: v for k, v in details.items() if k != "changes"}
        return Call(
            task_id=task.id, request_id=request.id, request_type=request.type,
            action=task.action, link=link, attempt=task.attempts,
            callback_url=f"{self.settings.service_url}/v1/webhooks/{task.system}",
            changes=changes, options=options, external_ref=task.external_ref,
            system=task.system, dispatch_round=task.dispatch_round, erased_by=erased_by,
            resend_if_lost=request.closing_as is None, params=dict(task.params or {}),
            as_of=self.as_of,
        )

    # -- executing ------------------------------------------------------------------------------

    async def run_one(self, claimed: Claimed) -> None:
        """Carry out one claimed task and record the result (never raises).

        Whatever goes wrong, the task is not left open: an error while recording the answer
        (a bug, a value the database refuses) fails the task with a reason an agent can read
        (the logs have the error's type, never its message: it may hold SQL or data). Only
        a database that cannot be reached (or is busy) is retried; if the failure cannot be
        written either, the lease runs out and the task is taken again."""
        try:
            await self._run_one(claimed)
        except Exception as exc:
            call = claimed.call
            log.error("recording a task's result failed", extra={
                "task_id": str(call.task_id), "error_type": type(exc).__name__})
            unreachable = isinstance(exc, OperationalError | InterfaceError | PoolTimeout)
            error: ConnectorError = TransientError(
                "the service's database could not be reached to record the answer") \
                if unreachable else PermanentError(
                    f"The service could not record {call.system}'s answer (an internal "
                    f"error: {type(exc).__name__}); nothing of it was kept. See the service "
                    "logs for this task, then retry it or complete it by hand.")
            try:
                await self._record_error(claimed, error, transient=unreachable)
            except Exception as again:
                log.error("recording a task's failure failed; its lease will run out", extra={
                    "task_id": str(call.task_id), "error_type": type(again).__name__})

    async def _run_one(self, claimed: Claimed) -> None:
        call = claimed.call
        connector = self.connectors.get(call.system)
        started = asyncio.get_running_loop().time()
        try:
            if claimed.abandon:
                await self._record(claimed, outcome=_uncertain_abandon(call))
                return
            if connector is None:
                raise PermanentError("No connector is configured for this system.")
            if not call.link:
                raise PermanentError("The customer has no link (pseudonymous ID) for this system.")
            erased = call.erased_by
            if erased is not None and erased.status is TaskStatus.done and not claimed.polling:
                await self._record(claimed, outcome=erased.outcome(
                    f"{call.system} holds nothing about the customer any more, so nothing was "
                    "written back."))
                return
            self.metrics.partner_calls.labels(system=call.system).inc()
            outcome = await (connector.poll(call) if claimed.polling else connector.execute(call))
        except TransientError as exc:
            await self._record_error(claimed, exc, transient=True)
        except ConnectorError as exc:
            await self._record_error(claimed, exc, transient=False)
        except Exception as exc:  # a bug in a connector must not kill the worker
            log.error("connector crashed", extra={"task_id": str(call.task_id),
                                                  "error_type": type(exc).__name__})
            await self._record_error(claimed, PermanentError(
                "The connector failed unexpectedly; see the service logs."), transient=False)
        else:
            if outcome is None:  # polled, still running at the partner
                await self._record(claimed, poll_again=True)
            else:
                await self._record(claimed, outcome=outcome)
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
        request = await task_service.lock_request(session, call.request_id)
        task = await recorder.locked_task(session, call.task_id, call.request_id)
        if task is None or task.lease_owner != claimed.lease:
            log.info("lease lost; result dropped", extra={"task_id": str(call.task_id)})
            return None
        if request.status not in lifecycle.ACTIVE and task.scheduled_for is None:
            task.lease_owner = task.lease_until = None
            return None
        return request, task

    async def _record(
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
                                            request_id=claimed.call.request_id)
        if created is not None:
            self.metrics.task_latency.labels(system=claimed.call.system).observe(
                (utcnow() - created).total_seconds())

    async def _record_error(
        self, claimed: Claimed, exc: ConnectorError, *, transient: bool
    ) -> None:
        async def work(session: AsyncSession) -> bool:
            """True if a retry was scheduled (for the metric)."""
            held = await self._held(session, claimed)
            if held is None:
                return False
            request, task = held
            return await self._apply_error(session, claimed, request, task, exc,
                                           transient=transient)

        if await self.recorder.write(claimed.call.task_id, work,
                                     request_id=claimed.call.request_id):
            self.metrics.retries.labels(system=claimed.call.system).inc()

    async def _apply_error(
        self, session: AsyncSession, claimed: Claimed, request: DsrRequest, task: Task,
        exc: ConnectorError, *, transient: bool,
    ) -> bool:
        settings = self.settings
        now = utcnow()
        throttled = isinstance(exc, TransientError) and exc.throttled
        maybe_delivered = isinstance(exc, TransientError) and exc.maybe_delivered
        if transient and claimed.polling:
            # a failed poll: the partner has the job (or may have); ask again later
            task.lease_owner = task.lease_until = None
            task.next_attempt_at = now + timedelta(seconds=settings.retry_max_s)
            return False
        if request.closing_as is not None:
            # Nothing new is started for a request being closed: an attempt that surely
            # did not arrive ends here; one that may have arrived is asked about.
            await self._close_after_error(session, request, task, exc, maybe_delivered)
            return False
        if throttled:
            task.attempts = max(0, task.attempts - 1)  # pacing is not a failed attempt
            since = task.throttled_since or now
            if (now - since).total_seconds() >= settings.max_throttle_s:
                await task_service.fail(session, request=request, task=task, reason=(
                    f"{claimed.call.system} kept answering 429 (rate limited) for over "
                    f"{int(settings.max_throttle_s)} s; stopped retrying"))
                return False
        if transient and task.attempts < settings.task_max_attempts:
            retry_after = getattr(exc, "retry_after", None)
            delay = backoff_delay(task.attempts, base=settings.retry_base_s,
                                  cap=settings.retry_max_s, rng=self.rng)
            if retry_after is not None:
                delay = min(retry_after, settings.retry_after_cap_s)
            await task_service.schedule_retry(
                session, request=request, task=task, reason=exc.reason, delay_s=delay,
                throttled=throttled, maybe_delivered=maybe_delivered)
            return True
        reason = exc.reason if not transient else (
            f"{exc.reason} (gave up after {task.attempts} attempts)")
        await task_service.fail(session, request=request, task=task, reason=reason)
        return False

    async def _close_after_error(
        self, session: AsyncSession, request: DsrRequest, task: Task, exc: ConnectorError,
        maybe_delivered: bool,
    ) -> None:
        if maybe_delivered and task.system in CALLBACK_SYSTEMS:
            task.status = TaskStatus.pending
            task.delivery_uncertain = True
            await task_service.follow_up_or_cancel(session, request, task, SYSTEM_ACTOR)
            return
        if maybe_delivered:
            outcome = Outcome(TaskStatus.cancelled, (
                f"Stopped with the request: {exc.reason}, so whether {task.system} applied "
                "it is not known."), uncertain=True)
        else:
            outcome = Outcome(TaskStatus.cancelled,
                              f"Stopped with the request: {exc.reason}; nothing was done.")
        await task_service.apply_outcome(
            session, request=request, task=task, outcome=outcome, vault=self.vault)

    # -- the loop -------------------------------------------------------------------------------

    async def run_until_idle(self, *, max_rounds: int = 1000) -> None:
        """Claim and run due tasks until none is due (tests and benchmarks)."""
        for _ in range(max_rounds):
            batch = await self.claim(self.settings.worker_concurrency)
            if not batch:
                return
            await asyncio.gather(*(self.run_one(c) for c in batch))

    async def housekeeping(self) -> None:
        """Retention work on the service's own data (any worker may run it; it is idempotent)."""
        from app.services.responses import purge_expired
        from app.services.retention import purge_housekeeping

        try:
            async with unit_of_work(self.sessionmaker) as session:
                await purge_housekeeping(session, settings=self.settings, now=utcnow())
            async with unit_of_work(self.sessionmaker) as session:
                await purge_expired(
                    session, utcnow(), retention_days=self.settings.response_retention_days)
        except Exception as exc:
            log.error("housekeeping failed", extra={"error_type": type(exc).__name__})

    async def build_responses(self) -> None:
        """Build the answers that are due: all of them when no task is in flight, else those
        whose request became final ``_answer_wait()`` ago or earlier; then wake the worker
        when the next one comes due. (Building every answer pending once the first had
        waited built the fresh ones too, at once, in the middle of the work in flight.)
        Building them all, it goes on to a next answer only while nothing is in flight."""
        from app.services.responses import build_pending, next_pending

        try:
            while True:
                before = utcnow() - timedelta(seconds=self._answer_wait()) \
                    if self._busy() else None
                # building them all because nothing was in flight: stop at the next answer
                # once something is (a lull between claims in a burst is not a quiet spell)
                idle = (lambda: not self._busy()) if before is None else None
                if not await build_pending(self.sessionmaker, connectors=self.connectors,
                                           vault=self.vault, settings=self.settings,
                                           finished_before=before, keep_going=idle):
                    break
            if before is not None:
                upcoming = await next_pending(self.sessionmaker, before)
                if upcoming is not None:
                    self._answers_put_off(upcoming)
        except Exception as exc:
            log.error("building responses failed", extra={"error_type": type(exc).__name__})

    def _answers_put_off(self, finished_at: datetime) -> None:
        """An answer put off since its request became final at ``finished_at``: the worker
        builds it ``ANSWER_DEFER_S`` after that, if tasks are still in flight then."""
        loop = asyncio.get_running_loop()
        since = loop.time() - max(0.0, (utcnow() - finished_at).total_seconds())
        if self._answers_since is None or since < self._answers_since:
            self._answers_since = since
            loop.call_later(max(0.0, since + ANSWER_DEFER_S - loop.time()), self.wake.set)

    def _start_builder(self) -> None:
        # One builder at a time per worker; it runs beside the dispatch loop, never blocking it.
        if self._builder is None or self._builder.done():
            self._builder = asyncio.create_task(self.build_responses())

    def _start_side_job(self, name: str, job: Callable[[], Any]) -> None:
        """One of each side job at a time per worker, beside the dispatch loop."""
        running = self._side_jobs.get(name)
        if running is None or running.done():
            self._side_jobs[name] = asyncio.create_task(self._guarded(name, job))

    @staticmethod
    async def _guarded(name: str, job: Callable[[], Any]) -> None:
        try:
            await job()
        except Exception as exc:  # logged; the next round tries again
            log.error("side job failed", extra={"job": name, "error_type": type(exc).__name__})

    async def deliver_notifications(self) -> None:
        if self.notifier is not None:
            while await self.notifier.deliver_due():
                pass

    async def retention_sweep(self) -> None:
        """The daily post-contract sweep, run by whichever worker finds it due."""
        from app.services.sweep import SWEEP_JOB, run_job_if_due, sweep

        crm = self.connectors.get("crm")
        if crm is None or not self.settings.retention_sweep:
            return

        async def job() -> dict[str, Any]:
            items = await sweep(self.sessionmaker, crm, self.settings,
                                as_of=utcnow().date())
            return {"created": sum(item.created for item in items)}

        await run_job_if_due(self.sessionmaker, SWEEP_JOB,
                             interval_s=self.settings.retention_sweep_interval_s, job=job,
                             owner=self.worker_id)

    async def run(self) -> None:
        """Work until :meth:`stop`: claim what is due, run it, sleep until woken.

        Side jobs start only when there is a reason: answers to build when a request became
        final (or on an idle round, for answers another process left), the sweep on its own
        clock. Every wake-up used to start all of them, each a transaction, on every task.
        """
        log.info("worker started", extra={"worker_id": self.worker_id})
        loop = asyncio.get_running_loop()
        next_housekeeping = next_sweep = loop.time()
        idle = True
        while not self._stopping.is_set():
            if loop.time() >= next_housekeeping:
                await self.housekeeping()
                next_housekeeping = loop.time() + self.settings.housekeeping_interval_s
            self.wake.clear()
            if self.answers.is_set():
                self.answers.clear()
                if self._answers_since is None:
                    self._answers_since = loop.time()
            if idle or (self._answers_since is not None and (
                    not self._busy()
                    or loop.time() - self._answers_since >= self._answer_wait())):
                self._answers_since = None
                self._start_builder()
            self._start_side_job("notifications", self.deliver_notifications)
            if loop.time() >= next_sweep:
                self._start_side_job("retention_sweep", self.retention_sweep)
                next_sweep = loop.time() + min(SWEEP_CHECK_S,
                                               self.settings.retention_sweep_interval_s)
            slots = self._slots_now()
            free = slots - len(self._running)
            batch = []
            # Starved (more due than it could take) with less than a quarter of its slots
            # free, a new request is no reason to claim: _done wakes it when a quarter is.
            # With none free (the API is busy: intake first), it waits the same way.
            if free <= 0:
                self._starved = True
            elif idle or not self._starved or free >= _claim_again(slots):
                try:
                    batch = await self.claim(free)
                except Exception as exc:  # database hiccup: log, back off, keep going
                    log.error("claim failed", extra={"error_type": type(exc).__name__})
                    await asyncio.sleep(1.0)
                self._starved = len(batch) == free
            for claimed in batch:
                job = asyncio.create_task(self.run_one(claimed))
                self._running.add(job)
                job.add_done_callback(self._done)
            if batch and len(batch) == free:
                continue  # there may be more due right now
            timeout = IDLE_POLL_S
            if self._answers_since is not None:  # answers put off: build them when due
                timeout = min(timeout, max(0.0, self._answers_since + self._answer_wait()
                                           - loop.time()))
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=timeout)
                idle = False
            except TimeoutError:
                idle = True

    async def listen(self) -> None:
        """On PostgreSQL, wake on ``NOTIFY dsr_tasks`` from any process (reconnecting)."""
        url = make_url(self.settings.database_url)
        if not url.drivername.startswith("postgresql"):
            return
        import asyncpg

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(2.0)
                continue
            try:
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_args: self.wake.set())
                while not self._stopping.is_set() and not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=5.0)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    @property
    def _quarter(self) -> int:
        """A quarter of the worker's slots: all it may use while the API is busy."""
        return _claim_again(self.settings.worker_concurrency)

    def _slots_now(self) -> int:
        """The tasks this worker may have in flight now: a quarter of its slots while the
        process's API is busy (intake first, services.foreground), else all of them."""
        if self.foreground is not None and self.foreground.busy():
            return self._quarter
        return self.settings.worker_concurrency

    def _busy(self) -> bool:
        """Tasks in flight, or a backlog: with more due than it could take, a moment with
        nothing in flight is a lull between claims, not a quiet spell to build answers in
        (on PostgreSQL, where a claim takes longer, each lull of a burst built one)."""
        return bool(self._running) or self._starved

    def _answer_wait(self) -> float:
        """How long an answer waits while tasks are in flight: ``ANSWER_DEFER_S``; while the
        worker has a backlog, until it clears (``ANSWER_BACKLOG_S`` at most). In a burst the
        answers of its first requests came due before its last were carried out, and were
        built among them: more of them the slower the machine, and each as costly as a
        request."""
        return ANSWER_BACKLOG_S if self._starved else ANSWER_DEFER_S

    def _api_quiet(self) -> None:
        """The API is no longer busy: a worker that had more due than it took claims again."""
        if self._starved:
            self.wake.set()

    def held_back(self) -> frozenset[tuple[str, str]] | None:
        """What install_wakeup wakes the worker for when a task leaves the queue: the
        (customer, system) pairs the last claim found held back by ordering (None: not known).
        A starved worker (its last claim filled every free slot) has none: its own tasks
        ending wake it once a quarter of its slots are free. Woken by every task leaving the
        queue, it claimed one or two tasks at a time through a whole burst."""
        return frozenset() if self._starved else self.blocked

    def answer_due(self) -> None:
        """A request became final (its transaction committed): build its answer now if no
        task is in flight, else when the last one ends or ``ANSWER_DEFER_S`` from now,
        whichever comes first (with a backlog, once it clears: ``_answer_wait``). Not a
        reason to claim: waking the worker (and so a claim) on every request that became
        final kept a burst's claims small."""
        self.answers.set()
        if not self._busy():
            self.wake.set()
        else:
            self._answers_put_off(utcnow())

    def _done(self, job: asyncio.Task[None]) -> None:
        self._running.discard(job)
        if not self._running and (self._answers_since is not None or self.answers.is_set()):
            self.wake.set()  # nothing in flight: the answers waiting can be built now
        # The last claim left due work behind: claim again once a quarter of the slots are
        # free (one claim per freed slot made claiming a tenth of a burst's work).
        slots = self._slots_now()
        if self._starved and slots - len(self._running) >= _claim_again(slots):
            self.wake.set()

    async def stop(self, *, grace_s: float = 10.0) -> None:
        self._stopping.set()
        self.wake.set()
        pending = set(self._running) | ({self._builder} if self._builder else set()) | set(
            self._side_jobs.values())
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        for job in pending:
            job.cancel()
