"""The request state machine: the one place that decides and writes ``request.status``.

::

    awaiting_verification ──verify──▶ in_progress ◀──settle──▶ action_required
            │                            │                        │
            ├── reject / cancel ─────────┴────────────────────────┤
            │   (nothing in flight: at once)                      │
            │                                                     ▼
            │                     closing (status stays in_progress; ``closing_as`` set)
            │                      every task already sent is followed to its real outcome
            ▼                                                     │
       rejected / cancelled ◀──────────── settle: nothing in flight ┘
                                         in_progress ── settle: every task final ──▶ completed

Everything here runs in the caller's transaction with the request row locked, and writes an
audit event for every change. Services and the dispatcher call :func:`begin`,
:func:`request_close`, :func:`settle` and :func:`note`; nothing else assigns
``request.status``.

The task status sets live here too, so "final", "in flight" and "needs a person" mean the same
thing to the dispatcher, the webhooks, the responses and the metrics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import utcnow
from app.errors import InvalidState, NotFound, RequestClosing
from app.models import OPEN_REQUESTS, DsrRequest, RequestStatus, Task, TaskAction, TaskStatus
from app.notifications import outbox
from app.rights import RIGHTS
from app.services import audit, recorder
from app.services.signals import has_signal, signal_answer
from app.worker.wakeup import signal_work, take_signal

__all__ = ["has_signal", "signal_answer", "signal_work", "take_signal"]

# -- status sets --------------------------------------------------------------------------------

OPEN = frozenset(
    {RequestStatus.awaiting_verification, RequestStatus.in_progress, RequestStatus.action_required}
)
ACTIVE = frozenset({RequestStatus.in_progress, RequestStatus.action_required})  # dispatchable
FINAL = frozenset({RequestStatus.completed, RequestStatus.rejected, RequestStatus.cancelled})
ANSWERED = FINAL  # every final request gets an answer (a cancelled one says what was done)

TASK_FINAL = frozenset(
    {TaskStatus.done, TaskStatus.no_data, TaskStatus.retained, TaskStatus.cancelled}
)
# Work due at a later date (a deferred erasure): a final request may still hold it.
TASK_SCHEDULED = frozenset({TaskStatus.scheduled})
TASK_SETTLED = TASK_FINAL | TASK_SCHEDULED
# A restriction being lifted (services.lift): its notice and lift tasks wait ``scheduled`` for
# the customer's notice, yet the request is not done until they have run.
LIFT_ACTIONS = frozenset({TaskAction.lift_restriction.value, TaskAction.lift_notice.value})
TASK_IN_FLIGHT = frozenset({TaskStatus.running, TaskStatus.awaiting_callback})
TASK_QUEUED = frozenset({TaskStatus.pending})
TASK_NEEDS_PERSON = frozenset({TaskStatus.failed, TaskStatus.manual})
# Tasks of an earlier request that a later request's task at the same system must wait for.
TASK_BLOCKING = TASK_QUEUED | TASK_IN_FLIGHT

SYSTEM_ACTOR = ("dispatcher", "system")
Actor = tuple[str, str]


def is_final(status: RequestStatus) -> bool:
    return status in FINAL


def task_is_final(status: TaskStatus) -> bool:
    return status in TASK_FINAL


def settled(task: Task) -> bool:
    """Final, or work due later that the request need not wait for (a deferred erasure)."""
    return task.status in TASK_FINAL or (
        task.status in TASK_SCHEDULED and task.action not in LIFT_ACTIONS)


def _unsent(task: Task) -> bool:
    """Not sent anywhere yet: queued, waiting for a person, or a lift still held back."""
    return task.status in TASK_QUEUED or task.status in TASK_NEEDS_PERSON or (
        task.status in TASK_SCHEDULED and task.action in LIFT_ACTIONS)


# -- overdue ------------------------------------------------------------------------------------


def is_overdue(request: DsrRequest, now: datetime) -> bool:
    """Past its due date and not yet answered (art. 12(3))."""
    return request.due_at < now and request.status not in FINAL


def overdue_clause(now: datetime) -> Any:
    """:func:`is_overdue` as a SQL condition, answered from the partial index of the open
    requests. The statuses are written into the statement as the index's own predicate
    (``models.OPEN_REQUESTS``), never sent as parameters: a planner uses a partial index only
    where it can prove the query implies its predicate, which SQLite never can for ``NOT IN
    (?, ?, ?)`` and PostgreSQL cannot in a generic plan (asyncpg's prepared statements), so the
    count read every request (25 ms at 100,000 on SQLite) while EXPLAIN of the statement with
    its values written in showed the index."""
    return and_(col(DsrRequest.due_at) < now, text(f"dsr_request.{OPEN_REQUESTS}"))


# -- signalling the worker ----------------------------------------------------------------------
# signal_work / take_signal are the worker's (app.worker.wakeup), has_signal and
# signal_answer the domain's (services.signals); all four are re-exported here.


# -- transitions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """An action on a request: from which statuses it is allowed, and where it goes."""

    allowed: frozenset[RequestStatus]
    to: RequestStatus | None  # None: the status does not change


TRANSITIONS: dict[str, Transition] = {
    "verify": Transition(frozenset({RequestStatus.awaiting_verification}),
                         RequestStatus.in_progress),
    "reject": Transition(OPEN, RequestStatus.rejected),
    "cancel": Transition(OPEN, RequestStatus.cancelled),
    "extend": Transition(OPEN, None),
    "retry_task": Transition(ACTIVE, None),
    "complete_task": Transition(ACTIVE, None),
    # Art. 18(3): a completed restriction is lifted, the customer having been told first.
    "lift": Transition(frozenset({RequestStatus.completed}), RequestStatus.in_progress),
    # A deferred erasure that failed for good needs a person again.
    "reopen": Transition(FINAL, RequestStatus.action_required),
}

# The portal notification a move to each status sends (app.notifications.outbox).
STATUS_EVENTS = {
    RequestStatus.completed: "request.completed", RequestStatus.rejected: "request.rejected",
    RequestStatus.cancelled: "request.cancelled",
    RequestStatus.action_required: "request.action_required",
}


def guard(request: DsrRequest, action: str) -> Transition:
    """The transition for ``action``, or ``InvalidState`` (409) if the request's status does
    not allow it (``RequestClosing`` while a reject or cancel follows work already sent)."""
    rule = TRANSITIONS[action]
    if request.status not in rule.allowed:
        raise InvalidState(
            f"Cannot {action.replace('_', ' ')} a request that is {request.status.value}."
        )
    if request.closing_as is not None:
        raise RequestClosing(
            f"Cannot {action.replace('_', ' ')} a request that is being "
            f"{request.closing_as.value}; work already sent to partners is being followed "
            "to its outcome."
        )
    return rule


def initial_status(verified: bool) -> RequestStatus:
    return RequestStatus.in_progress if verified else RequestStatus.awaiting_verification


async def note(
    session: AsyncSession, request: DsrRequest, *, action: str, actor: Actor,
    data: dict[str, Any] | None = None, at: datetime | None = None,
) -> None:
    """Record an event on the request's audit trail without changing its status."""
    await audit.record(
        session, request=request, actor=actor[0], actor_role=actor[1], action=action,
        from_status=request.status.value, to_status=request.status.value, data=data or {},
        at=at,
    )


async def _move(
    session: AsyncSession, request: DsrRequest, to: RequestStatus, *, action: str,
    actor: Actor, data: dict[str, Any] | None = None,
) -> None:
    before, now = request.status, utcnow()
    request.status, request.updated_at = to, now
    # a restriction being lifted keeps its notice letter pending (services.lift)
    request.answer_pending = to in ANSWERED or (
        request.answer_pending and to in ACTIVE and request.lift_requested_at is not None)
    if to in FINAL:
        request.finished_at = now
        request.closing_as = None
        _forget_new_values(request)
        signal_answer(session)  # its answer is to be built
    else:
        request.finished_at = None
    await audit.record(
        session, request=request, actor=actor[0], actor_role=actor[1], action=action,
        from_status=before.value, to_status=to.value, data=data or {}, at=now,
    )
    event = STATUS_EVENTS.get(to)
    if event == "request.completed":
        await outbox.emit(session, request, event,
                          response_url=f"/v1/requests/{request.id}/response")
    elif event is not None:
        await outbox.emit(session, request, event)


def _forget_new_values(request: DsrRequest) -> None:
    """A finished rectification no longer needs the new values: keep the field names only."""
    changes = request.details.get("changes")
    if isinstance(changes, dict):
        request.details = {**request.details, "changes": dict.fromkeys(changes, "[removed]")}


async def begin(
    session: AsyncSession, request: DsrRequest, *, actor: Actor, method: str,
) -> None:
    """Identity is verified: the request's tasks may now be dispatched."""
    rule = guard(request, "verify")
    assert rule.to is not None
    request.identity_verification, request.verified_at = method, utcnow()
    signal_work(session)
    await _move(session, request, rule.to, action="verified", actor=actor,
                data={"method": method})
    await outbox.emit(session, request, "request.verified")


async def reopen_for_lift(
    session: AsyncSession, request: DsrRequest, *, actor: Actor, reason: str
) -> None:
    """A completed restriction is to be lifted: it is open again until every system has
    lifted it. Its answer is built again first, the letter that tells the customer
    (services.lift sends it once it is stored)."""
    rule = guard(request, "lift")
    assert rule.to is not None
    await _move(session, request, rule.to, action="lift_requested", actor=actor,
                data={"reason": reason})
    request.answer_pending = True
    signal_answer(session)
    signal_work(session)


# Built once: constructing a statement (and its cache key) cost more than running it.
_LOCK_REQUEST = select(DsrRequest).where(col(DsrRequest.id) == bindparam("id")).with_for_update()


async def lock_request(session: AsyncSession, request_id: uuid.UUID) -> DsrRequest:
    """The request, row-locked for the rest of the transaction: every transition and every
    task outcome is written under this lock."""
    if recorder.holds(session, request_id):  # a batch locked it already
        request: DsrRequest | None = await session.get(DsrRequest, request_id)
    else:
        request = (await session.scalars(_LOCK_REQUEST, {"id": request_id})).first()
    if request is None:
        raise NotFound("No such request.")
    return request


_TASKS = select(Task).where(col(Task.request_id) == bindparam("request_id"))
_TASKS_LOCKED = _TASKS.with_for_update()


async def tasks_of(session: AsyncSession, request: DsrRequest) -> list[Task]:
    return list(await session.scalars(_TASKS_LOCKED, {"request_id": request.id}))


async def request_close(
    session: AsyncSession, request: DsrRequest, *, action: str, actor: Actor,
    data: dict[str, Any], resolve_unsent: Any,
) -> None:
    """Reject or cancel: stop what has not been sent, follow what has, then finish.

    ``resolve_unsent(session, request, task, actor)`` is the task service's way of closing one task
    that is not in flight (cancelled, or followed up when an earlier attempt may have reached
    the partner). When nothing is in flight afterwards the request is final at once; otherwise
    it stays open with ``closing_as`` set, and :func:`settle` finishes it when the last
    outcome is in.
    """
    rule = guard(request, action)
    assert rule.to is not None
    now = utcnow()
    for task in await tasks_of(session, request):
        if _unsent(task):
            await resolve_unsent(session, request, task, actor)
    in_flight = [t for t in await tasks_of(session, request) if t.status in TASK_BLOCKING]
    if not in_flight:
        await _move(session, request, rule.to, action=f"{rule.to.value}", actor=actor,
                    data=data)
        return
    request.closing_as, request.closing_requested_at, request.updated_at = rule.to, now, now
    if request.status is RequestStatus.action_required:
        request.status = RequestStatus.in_progress  # nothing waits for a person any more
    await audit.record(
        session, request=request, actor=actor[0], actor_role=actor[1],
        action=f"{action}_requested", from_status=request.status.value,
        to_status=request.status.value, at=now,
        data={**data, "following": [
            {"task_id": str(t.id), "system": t.system, "status": t.status.value}
            for t in in_flight]},
    )


async def settle(
    session: AsyncSession, request: DsrRequest, *, actor: Actor = SYSTEM_ACTOR
) -> None:
    """Derive the request's status from its tasks, and record the change if there is one.

    - closing (rejected/cancelled asked for): final once no task is queued or in flight;
    - every task final → ``completed``;
    - any task failed or waiting for a person → ``action_required``;
    - otherwise ``in_progress``.
    """
    tasks = recorder.request_tasks(session, request.id)
    if tasks is None:
        tasks = list(await session.scalars(_TASKS, {"request_id": request.id}))
    if request.status in FINAL:
        # Only scheduled work runs for a final request; one that failed for good needs a person.
        failed = [t for t in tasks if t.status in TASK_NEEDS_PERSON]
        if failed:
            await _move(session, request, RequestStatus.action_required,
                        action="request_action_required", actor=actor, data={"waiting_on": [
                            {"task_id": str(t.id), "system": t.system, "status": t.status.value,
                             "reason": t.last_error} for t in failed]})
        return
    if request.status not in ACTIVE:
        return
    if request.closing_as is not None:
        if not any(t.status in TASK_BLOCKING for t in tasks):
            await _move(session, request, request.closing_as,
                        action=f"request_{request.closing_as.value}", actor=actor)
        return
    if RIGHTS[request.type].complete(tasks, settled):  # the right's completion rule
        target = RequestStatus.completed
    elif any(t.status in TASK_NEEDS_PERSON for t in tasks):
        target = RequestStatus.action_required
    else:
        target = RequestStatus.in_progress
    if target is request.status:
        return
    data: dict[str, Any] = {}
    if target is RequestStatus.action_required:
        data["waiting_on"] = [
            {"task_id": str(t.id), "system": t.system, "status": t.status.value,
             "reason": t.last_error}
            for t in tasks if t.status in TASK_NEEDS_PERSON
        ]
    await _move(session, request, target, action=f"request_{target.value}", actor=actor,
                data=data)
