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
# for a task being retried after a lost answer: all of these still accept it.
ACCEPTS_CALLBACK = frozenset(
    {TaskStatus.awaiting_callback, TaskStatus.running, TaskStatus.pending}
)


async def apply_callback(
    session: AsyncSession, *, system: str, webhook_id: str, task_id: uuid.UUID,
    dispatch_round: int, outcome: Outcome, vault: Vault,
) -> tuple[str, uuid.UUID | None]:
    """Returns ("applied" | "duplicate" | "ignored", task id).

    A result that cannot be applied (it answers an earlier round that an agent has since
    retried, or the task already has its outcome) is still written to the audit trail: what a
    partner says it did is never dropped unrecorded.
    """
    task = await session.get(Task, task_id)
    if task is None or task.system != system:
        # Another partner's task is answered exactly like a task that does not exist.
        raise NotFound("No task of this partner has that id.")
    request = await task_service.lock_request(session, task.request_id)
    task = await recorder.locked_task(session, task_id, task.request_id)
    assert task is not None
    if not await insert_new(session, WebhookReceipt, {
            "system": system, "webhook_id": webhook_id, "task_id": task_id,
            "received_at": utcnow()}, key=["system", "webhook_id"]):
        return "duplicate", task_id  # this delivery was received before (or concurrently)
    if outcome.status is TaskStatus.awaiting_callback:  # a progress report: nothing to record
        return "ignored", task_id
    stale = dispatch_round != task.dispatch_round
    if stale or task.status not in ACCEPTS_CALLBACK or request.status not in lifecycle.ACTIVE:
        await lifecycle.note(
            session, request, action="callback_not_applied", actor=(system, "partner"),
            data={"task_id": str(task_id), "system": system, "round": dispatch_round,
                  "reported": outcome.status.value, "summary": outcome.summary,
                  "why": "an earlier round" if stale else f"the task is {task.status.value}"},
        )
        return "ignored", task_id
    await task_service.apply_outcome(
        session, request=request, task=task, outcome=outcome, vault=vault,
        actor=(system, "partner"),
    )
    return "applied", task_id
