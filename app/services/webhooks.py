"""Applying a verified partner callback to its task, exactly once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.connectors.base import Outcome
from app.db import insert_new, utcnow
from app.errors import NotFound
from app.models import Task, TaskStatus, WebhookReceipt
from app.services import lifecycle, recorder
from app.services import tasks as task_service
from app.services.vault import Vault

# A callback may overtake the worker recording "awaiting_callback" (a fast partner), or arrive
# for a task being retried after a lost answer: all of these still accept it, once sent.
ACCEPTS_CALLBACK = frozenset(
    {TaskStatus.awaiting_callback, TaskStatus.running, TaskStatus.pending}
)


def at_partner(task: Task) -> bool:
    """Whether the partner has (or may have) this round of the task: the worker waits for its
    answer, or handed it over at least once in this round (``attempts`` counts the hand-overs
    of the current round, an agent's retry starting the next at 0; a 429 uses none). A task
    still queued (``pending``, no attempt) was never sent: no answer can be about it."""
    if task.status is TaskStatus.awaiting_callback:
        return True
    return task.status in ACCEPTS_CALLBACK and task.attempts >= 1


async def apply_callback(
    session: AsyncSession, *, system: str, webhook_id: str, task_id: uuid.UUID,
    dispatch_round: int, outcome: Outcome, vault: Vault,
) -> tuple[str, uuid.UUID | None]:
    """Returns ("applied" | "duplicate" | "ignored", task id).

    Only a task at the partner in the round the callback names is completed (:func:`at_partner`).
    A result that cannot be applied (it answers an earlier round that an agent has since
    retried, a round or a task not yet sent, or the task already has its outcome) changes
    nothing but the audit trail: what a partner says it did is never dropped unrecorded.
    """
    task = await session.get(Task, task_id)
    if task is None or task.system != system:
        # Another partner's task is answered exactly like a task that does not exist.
        raise NotFound("No task of this partner has that id.")
    request = await lifecycle.lock_request(session, task.request_id)
    task = await recorder.locked_task(session, task_id, task.request_id)
    assert task is not None
    if not await insert_new(session, WebhookReceipt, {
            "system": system, "webhook_id": webhook_id, "task_id": task_id,
            "received_at": utcnow()}, key=["system", "webhook_id"]):
        return "duplicate", task_id  # this delivery was received before (or concurrently)
    if outcome.status is TaskStatus.awaiting_callback:  # a progress report: nothing to record
        return "ignored", task_id
    why = _not_applicable(task, dispatch_round)
    if why is None and request.status not in lifecycle.ACTIVE:
        why = f"the request is {request.status.value}"
    if why is not None:
        await lifecycle.note(
            session, request, action="callback_not_applied", actor=(system, "partner"),
            data={"task_id": str(task_id), "system": system, "round": dispatch_round,
                  "reported": outcome.status.value, "summary": outcome.summary, "why": why},
        )
        return "ignored", task_id
    await task_service.apply_outcome(
        session, request=request, task=task, outcome=outcome, vault=vault,
        actor=(system, "partner"),
    )
    return "applied", task_id


def _not_applicable(task: Task, dispatch_round: int) -> str | None:
    """Why a callback naming this round cannot complete the task, or None if it can."""
    if dispatch_round < task.dispatch_round:
        return "an earlier round"
    if dispatch_round > task.dispatch_round or (
            task.status in ACCEPTS_CALLBACK and not at_partner(task)):
        return "the task was not sent to the partner in that round"
    if task.status not in ACCEPTS_CALLBACK:
        return f"the task is {task.status.value}"
    return None
