"""Recording what happened to a task; what that means for the request is ``lifecycle``'s call.

Used by the dispatcher (a connector's answer), the partner webhooks (a callback) and agents
(completing a manual task, retrying a failed one: :mod:`app.services.agent_tasks`, which also
knows the lift's notice task; this module knows no lift). Every change is written with an
audit event in the caller's transaction, under the request's row lock, and then
:func:`app.services.lifecycle.settle` derives the request's status from its tasks.

Two rules hold here whatever the caller:

- a partner's answer about another subject than the link the task was sent with is refused:
  the task fails with a reason and nothing of the answer is stored;
- while a request is being cancelled or rejected, every outcome that arrives is still recorded
  (work done at a partner is never lost), but nothing new is started: a failure or a manual
  step ends the task ``cancelled`` with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers.store import supersede
from app.connectors.base import Outcome, Retained, format_partner_ref, until_problem
from app.db import upsert_statement, utcnow
from app.models import DsrRequest, RequestType, Task, TaskResult, TaskStatus
from app.partners import callback_systems
from app.services import lifecycle, recorder
from app.services.lifecycle import SYSTEM_ACTOR, TASK_FINAL, Actor
from app.services.vault import Vault

__all__ = ["SYSTEM_ACTOR", "apply_outcome", "fail", "schedule_retry"]


async def note_task(
    session: AsyncSession, request: DsrRequest, task: Task, *, action: str,
    actor: Actor, data: dict[str, Any] | None = None,
) -> None:
    await lifecycle.note(
        session, request, action=action, actor=actor,
        data={"task_id": str(task.id), "system": task.system, "task_action": task.action,
              "task_status": task.status.value, **(data or {})},
    )


async def _end_throttling(
    session: AsyncSession, request: DsrRequest, task: Task, now: datetime
) -> None:
    if task.throttled_since is None:
        return
    seconds = round((now - task.throttled_since).total_seconds(), 1)
    task.throttled_since = None
    await note_task(session, request, task, action="task_throttle_ended", actor=SYSTEM_ACTOR,
                  data={"throttled_s": seconds})


def _checked(task: Task, outcome: Outcome, request: DsrRequest) -> Outcome:
    """The outcome to record: a wrong subject or an impossible date is refused (the task
    fails with the reason); a closing request starts nothing."""
    closing = request.closing_as is not None
    if outcome.subject is not None and task.subject_ref is not None \
            and outcome.subject != task.subject_ref:
        outcome = Outcome(
            TaskStatus.failed,
            f"{task.system} answered about another subject than the one it was sent; the "
            "answer was refused and nothing of it was kept.")
    received = request.received_at.astimezone(UTC).date()
    problem = next((found for found in (until_problem(item.until, received=received)
                                        for item in outcome.retained) if found), None)
    if problem is not None:
        outcome = Outcome(
            TaskStatus.failed,
            f"{task.system} answered with a retained item whose until date {problem}; the "
            "answer was refused and nothing of it was kept.", subject=outcome.subject)
    if closing and outcome.status in lifecycle.TASK_NEEDS_PERSON:
        outcome = Outcome(TaskStatus.cancelled, f"Stopped with the request: {outcome.summary}",
                          subject=outcome.subject)
    return outcome


async def apply_outcome(
    session: AsyncSession, *, request: DsrRequest, task: Task, outcome: Outcome,
    vault: Vault | None, actor: Actor = SYSTEM_ACTOR, callback_poll_at: datetime | None = None,
) -> None:
    """Store a connector's (or partner callback's) outcome on the task and settle the request."""
    now = utcnow()
    outcome = _checked(task, outcome, request)
    await _end_throttling(session, request, task, now)
    task.status, task.updated_at = outcome.status, now
    task.lease_owner = task.lease_until = None
    task.outcome = outcome.public()
    task.delivery_uncertain = False
    if outcome.status is TaskStatus.awaiting_callback:
        task.external_ref = outcome.ref
        task.next_attempt_at = callback_poll_at
    else:
        task.next_attempt_at = None
    if outcome.status is TaskStatus.failed:
        task.last_error = outcome.summary
    elif outcome.status in TASK_FINAL:
        task.finished_at, task.last_error = now, None
    if task.action == DEFERRED_ERASE and outcome.status is TaskStatus.retained:
        if await _reschedule(session, request, task, outcome):
            await _tell_of_deferred_erasure(session, request)
            await lifecycle.settle(session, request, actor=actor)
            return
    elif request.type is RequestType.erasure and outcome.status is TaskStatus.retained:
        await _schedule_deferred(session, request, task, outcome.retained)
    if outcome.data is not None and outcome.status in (TaskStatus.done, TaskStatus.retained):
        assert vault is not None, "an outcome with data needs the vault to seal it"
        result = {"task_id": task.id, "request_id": request.id,
                  "ciphertext": vault.seal(outcome.data), "created_at": now}
        await recorder.insert_row(
            session, upsert_statement(session, TaskResult, tuple(result), ("task_id",)), result)
    await note_task(session, request, task, action=f"task_{outcome.status.value}", actor=actor,
                  data={"summary": outcome.summary} if outcome.summary else None)
    if task.action == DEFERRED_ERASE and outcome.status in TASK_FINAL:
        await _tell_of_deferred_erasure(session, request)
    await lifecycle.settle(session, request, actor=actor)


async def _tell_of_deferred_erasure(session: AsyncSession, request: DsrRequest) -> None:
    """A deferred erasure ran for an answered request: the customer gets a short notice of
    it (the answer is built again as that notice; the first one's SHA-256 stays on the trail,
    and its download window closed years ago)."""
    if request.status not in lifecycle.FINAL:
        return
    await supersede(session, request)
    request.answer_pending = True
    lifecycle.signal_answer(session)


# -- deferred erasure ----------------------------------------------------------------------------

DEFERRED_ERASE = "erase_retained"


def due_after(until: str) -> datetime:
    """A retained item's ``until`` is the LAST day it is kept (every connector says so): the
    deferred erasure is due at the start of the next day (UTC, which is at or after midnight
    in Sweden). Records kept through 31 December 2033 are erased from 1 January 2034."""
    day = date.fromisoformat(until) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=UTC)


def _dated(items: tuple[Retained, ...] | list[Retained]) -> list[Retained]:
    return sorted((item for item in items if item.until), key=lambda item: str(item.until))


async def _schedule_deferred(
    session: AsyncSession, request: DsrRequest, task: Task, items: tuple[Retained, ...],
) -> None:
    """Every retained item kept through a date becomes scheduled work at that system, due the
    day after the earliest such date (:func:`due_after`); items with no date (kept while the
    contract is in force) are left to the post-contract rule."""
    dated = _dated(items)
    if not dated:
        return
    existing = (await session.scalars(select(Task).where(
        col(Task.request_id) == request.id, col(Task.system) == task.system,
        col(Task.action) == DEFERRED_ERASE))).first()
    if existing is not None:
        return
    deferred = Task.of(
        request, task.system, DEFERRED_ERASE, status=TaskStatus.scheduled,
        scheduled_for=due_after(str(dated[0].until)),
        params={"items": [item.as_dict() for item in dated], "after_task": str(task.id)},
    )
    session.add(deferred)
    await session.flush()
    await note_task(session, request, deferred, action="deferred_erasure_scheduled",
                  actor=SYSTEM_ACTOR, data={
                      "scheduled_for": deferred.scheduled_for.isoformat()
                      if deferred.scheduled_for else None,
                      "items": deferred.params["items"] if deferred.params else []})


async def _reschedule(
    session: AsyncSession, request: DsrRequest, task: Task, outcome: Outcome
) -> bool:
    """A deferred erasure that erased what was due and keeps items with a later date is
    scheduled again for the next date. False if nothing dated remains (the task is final)."""
    dated = _dated(outcome.retained)
    if not dated:
        return False
    following = due_after(str(dated[0].until))
    if task.scheduled_for is not None and following <= task.scheduled_for:
        return False  # a partner that keeps naming a date already passed: no loop, final
    now = utcnow()
    task.status, task.updated_at = TaskStatus.scheduled, now
    task.scheduled_for = following
    task.params = {**(task.params or {}), "items": [item.as_dict() for item in dated]}
    task.outcome = outcome.public()
    task.attempts = 0
    await note_task(session, request, task, action="task_rescheduled", actor=SYSTEM_ACTOR,
                  data={"summary": outcome.summary,
                        "scheduled_for": task.scheduled_for.isoformat()})
    return True


async def schedule_retry(
    session: AsyncSession, *, request: DsrRequest, task: Task, reason: str, delay_s: float,
    throttled: bool = False, maybe_delivered: bool = False,
) -> None:
    """Put the task back in the queue for ``delay_s``.

    A throttled (429) task writes one event when the throttling starts and one when it ends
    (in :func:`apply_outcome` or :func:`fail`), not one per refused call.
    """
    now = utcnow()
    task.status, task.updated_at, task.last_error = TaskStatus.pending, now, reason
    task.lease_owner = task.lease_until = None
    task.next_attempt_at = now + timedelta(seconds=delay_s)
    if task.scheduled_for is not None and request.status in lifecycle.FINAL:
        # scheduled work of a final request waits as scheduled work (only that is claimed)
        task.status, task.scheduled_for = TaskStatus.scheduled, task.next_attempt_at
    task.delivery_uncertain = task.delivery_uncertain or maybe_delivered
    if throttled:
        if task.throttled_since is not None:
            return
        task.throttled_since = now
        await note_task(session, request, task, action="task_throttled", actor=SYSTEM_ACTOR,
                      data={"reason": reason, "retry_in_s": round(delay_s, 3)})
        return
    await _end_throttling(session, request, task, now)
    await note_task(session, request, task, action="task_retry_scheduled", actor=SYSTEM_ACTOR,
                  data={"reason": reason, "attempt": task.attempts,
                        "retry_in_s": round(delay_s, 3)})


async def fail(
    session: AsyncSession, *, request: DsrRequest, task: Task, reason: str,
    actor: Actor = SYSTEM_ACTOR,
) -> None:
    if request.closing_as is not None:
        await apply_outcome(session, request=request, task=task, vault=None,
                            outcome=Outcome(TaskStatus.failed, reason), actor=actor)
        return
    now = utcnow()
    await _end_throttling(session, request, task, now)
    task.status, task.updated_at, task.last_error = TaskStatus.failed, now, reason
    task.lease_owner = task.lease_until = task.next_attempt_at = None
    task.outcome = {"summary": reason}
    await note_task(session, request, task, action="task_failed", actor=actor,
                  data={"reason": reason, "attempts": task.attempts})
    await lifecycle.settle(session, request, actor=actor)


async def follow_up_or_cancel(
    session: AsyncSession, request: DsrRequest, task: Task, actor: Actor = SYSTEM_ACTOR
) -> None:
    """Close one task that is not in flight, for a request being cancelled or rejected.

    Not yet sent, failed, or waiting for a person: ``cancelled``. Queued for a retry after an
    attempt that may have reached the partner (a timeout, a 5xx): a partner that can be asked
    is asked (the task awaits its answer, and a partner that never got it is not sent it
    again); one that cannot be asked is ``cancelled`` with that uncertainty stated.
    """
    now = utcnow()
    if task.status is TaskStatus.pending and task.delivery_uncertain:
        if task.system in callback_systems():
            task.status, task.updated_at = TaskStatus.awaiting_callback, now
            task.external_ref = task.external_ref or format_partner_ref(
                task.id, task.dispatch_round)
            task.next_attempt_at = now
            await note_task(session, request, task, action="task_following_up",
                          actor=actor, data={"reason": "an earlier attempt may have "
                                                    "reached the partner; asking it"})
            return
        summary = (f"Cancelled before its retry. The previous attempt got no answer from "
                   f"{task.system}, so whether it was applied there is not known.")
        uncertain = True
    elif task.status is TaskStatus.failed:
        summary, uncertain = f"Cancelled; it had failed: {task.last_error}", False
    elif task.status is TaskStatus.manual:
        summary, uncertain = "Cancelled; the manual step was no longer needed.", False
    else:
        summary, uncertain = "Cancelled before it was sent; nothing was done.", False
    task.status, task.updated_at, task.finished_at = TaskStatus.cancelled, now, now
    task.lease_owner = task.lease_until = task.next_attempt_at = None
    task.outcome = {"summary": summary, **({"uncertain": True} if uncertain else {})}
    await note_task(session, request, task, action="task_cancelled", actor=actor,
                  data={"summary": summary, **({"uncertain": True} if uncertain else {})})
