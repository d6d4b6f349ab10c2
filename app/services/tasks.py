"""Recording what happened to a task, and what that means for its request.

Used by the dispatcher (a connector's answer), the partner webhooks (a callback) and agents
(completing a manual task, retrying a failed one). Every change is written with an audit event
in the caller's transaction, under the request's row lock, and then the request's status is
derived again from its tasks:

- every task terminal (done, no_data, retained, cancelled) → ``completed``;
- any task ``failed`` or ``manual`` → ``action_required`` (a person must act);
- otherwise → ``in_progress``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import Principal
from app.connectors.base import Outcome, Retained
from app.db import utcnow
from app.errors import InvalidState, NotFound
from app.models import (
    DsrRequest,
    RequestStatus,
    Task,
    TaskResult,
    TaskStatus,
)
from app.services import audit
from app.services.vault import Vault

SYSTEM_ACTOR = ("dispatcher", "system")
ACTIVE = frozenset({RequestStatus.in_progress, RequestStatus.action_required})


async def lock_request(session: AsyncSession, request_id: uuid.UUID) -> DsrRequest:
    request = (
        await session.scalars(
            select(DsrRequest).where(col(DsrRequest.id) == request_id).with_for_update()
        )
    ).first()
    if request is None:
        raise NotFound("No such request.")
    return request


async def _record(
    session: AsyncSession, request: DsrRequest, task: Task, *, action: str,
    actor: tuple[str, str], data: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session, request=request, actor=actor[0], actor_role=actor[1], action=action,
        from_status=request.status.value, to_status=request.status.value,
        data={"task_id": str(task.id), "system": task.system, "task_action": task.action,
              "task_status": task.status.value, **(data or {})},
    )


async def settle_request(
    session: AsyncSession, request: DsrRequest, *, actor: tuple[str, str] = SYSTEM_ACTOR
) -> DsrRequest:
    """Derive the request's status from its tasks and record the change, if any."""
    if request.status not in ACTIVE:
        return request
    tasks = list(await session.scalars(select(Task).where(col(Task.request_id) == request.id)))
    if all(task.status.is_terminal for task in tasks):
        target = RequestStatus.completed
    elif any(task.status in (TaskStatus.failed, TaskStatus.manual) for task in tasks):
        target = RequestStatus.action_required
    else:
        target = RequestStatus.in_progress
    if target is request.status:
        return request
    before, now = request.status, utcnow()
    request.status, request.updated_at = target, now
    data: dict[str, Any] = {}
    if target is RequestStatus.completed:
        request.finished_at = now
        session.info["wake_dispatcher"] = True  # its response package is to be built
        changes = request.details.get("changes")
        if isinstance(changes, dict):  # the new values have been delivered: forget them
            request.details = {**request.details, "changes": dict.fromkeys(changes, "[removed]")}
    elif target is RequestStatus.action_required:
        data["waiting_on"] = [
            {"task_id": str(t.id), "system": t.system, "status": t.status.value,
             "reason": t.last_error}
            for t in tasks if t.status in (TaskStatus.failed, TaskStatus.manual)
        ]
    await audit.record(
        session, request=request, actor=actor[0], actor_role=actor[1],
        action=f"request_{target.value}", from_status=before.value, to_status=target.value,
        data=data, at=now,
    )
    return request


async def apply_outcome(
    session: AsyncSession, *, request: DsrRequest, task: Task, outcome: Outcome, vault: Vault,
    actor: tuple[str, str] = SYSTEM_ACTOR, callback_poll_at: datetime | None = None,
) -> None:
    """Store a connector's (or partner callback's) outcome on the task and settle the request."""
    now = utcnow()
    task.status, task.updated_at = outcome.status, now
    task.lease_owner = task.lease_until = None
    task.outcome = outcome.public()
    if outcome.status is TaskStatus.awaiting_callback:
        task.external_ref = outcome.ref
        task.next_attempt_at = callback_poll_at
    else:
        task.next_attempt_at = None
    if outcome.status is TaskStatus.failed:
        task.last_error = outcome.summary
    elif outcome.status.is_terminal:
        task.finished_at, task.last_error = now, None
    if outcome.data is not None:
        await session.merge(TaskResult(
            task_id=task.id, request_id=request.id, ciphertext=vault.seal(outcome.data)
        ))
    await _record(session, request, task, action=f"task_{outcome.status.value}", actor=actor,
                  data={"summary": outcome.summary} if outcome.summary else None)
    await settle_request(session, request, actor=actor)


async def schedule_retry(
    session: AsyncSession, *, request: DsrRequest, task: Task, reason: str, delay_s: float,
) -> None:
    now = utcnow()
    task.status, task.updated_at, task.last_error = TaskStatus.pending, now, reason
    task.lease_owner = task.lease_until = None
    task.next_attempt_at = now + timedelta(seconds=delay_s)
    await _record(session, request, task, action="task_retry_scheduled", actor=SYSTEM_ACTOR,
                  data={"reason": reason, "attempt": task.attempts,
                        "retry_in_s": round(delay_s, 3)})


async def fail(
    session: AsyncSession, *, request: DsrRequest, task: Task, reason: str,
    actor: tuple[str, str] = SYSTEM_ACTOR,
) -> None:
    now = utcnow()
    task.status, task.updated_at, task.last_error = TaskStatus.failed, now, reason
    task.lease_owner = task.lease_until = task.next_attempt_at = None
    task.outcome = {"summary": reason}
    await _record(session, request, task, action="task_failed", actor=actor,
                  data={"reason": reason, "attempts": task.attempts})
    await settle_request(session, request, actor=actor)


# -- agents -------------------------------------------------------------------------------------


async def _task_of(session: AsyncSession, request: DsrRequest, task_id: uuid.UUID) -> Task:
    task = await session.get(Task, task_id, with_for_update=True)
    if task is None or task.request_id != request.id:
        raise NotFound("No such task on this request.")
    return task


async def retry_task(
    session: AsyncSession, *, request: DsrRequest, task_id: uuid.UUID, principal: Principal,
) -> Task:
    """An agent sends a failed task round again, with a fresh set of attempts."""
    if request.status not in ACTIVE:
        raise InvalidState(f"Cannot retry a task of a request that is {request.status.value}.")
    task = await _task_of(session, request, task_id)
    if task.status is not TaskStatus.failed:
        raise InvalidState(f"Only a failed task can be retried; this one is {task.status.value}.")
    task.status, task.attempts, task.next_attempt_at = TaskStatus.pending, 0, None
    task.updated_at = utcnow()
    actor = (principal.sub, principal.role.value)
    await _record(session, request, task, action="task_retried", actor=actor)
    await settle_request(session, request, actor=actor)
    session.info["wake_dispatcher"] = True
    return task


async def complete_task(
    session: AsyncSession, *, request: DsrRequest, task_id: uuid.UUID, principal: Principal,
    status: TaskStatus, note: str, retained: list[Retained], vault: Vault,
) -> Task:
    """An agent records the outcome of a manual (or failed) task."""
    if request.status not in ACTIVE:
        raise InvalidState(
            f"Cannot complete a task of a request that is {request.status.value}."
        )
    task = await _task_of(session, request, task_id)
    if task.status not in (TaskStatus.manual, TaskStatus.failed):
        raise InvalidState(
            f"Only a manual or failed task can be completed by hand; this one is "
            f"{task.status.value}."
        )
    if status is TaskStatus.retained and not retained:
        raise InvalidState("A retained outcome must list what is kept, with basis and date.")
    outcome = Outcome(status, summary=note, retained=tuple(retained))
    await apply_outcome(session, request=request, task=task, outcome=outcome, vault=vault,
                        actor=(principal.sub, principal.role.value))
    return task
