"""An agent's actions on a request's tasks: send a failed one round again, or record the
outcome of a manual one.

The lift's notice task (``lift_notice``) is never sent to a partner: retrying it tells the
customer again, and completing it says the letter was sent, so both go to :mod:`app.services.lift`.
Everything else is recorded by :mod:`app.services.tasks`, which knows nothing of agents or lifts.
"""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.connectors.base import Outcome, Retained, format_partner_ref, until_problem
from app.db import utcnow
from app.errors import (
    DecisionNotApplicable,
    DecisionRequired,
    NotFound,
    RetainedItemsMissing,
    TaskNotCompletable,
    TaskNotRetryable,
    Unprocessable,
)
from app.models import DsrRequest, Task, TaskAction, TaskStatus
from app.services import lifecycle, lift
from app.services.tasks import apply_outcome, note_task
from app.services.vault import Vault


async def _task_of(session: AsyncSession, request: DsrRequest, task_id: uuid.UUID) -> Task:
    task = await session.get(Task, task_id, with_for_update=True)
    if task is None or task.request_id != request.id:
        raise NotFound("No such task on this request.")
    return task


async def retry_task(
    session: AsyncSession, *, request: DsrRequest, task_id: uuid.UUID, principal: Principal,
) -> Task:
    """An agent sends a failed task round again: a new round with a fresh set of attempts.

    The new round has its own partner-facing id (``<task id>.<round>``), so a partner that
    answers a repeated id with its first answer (as docs/partners.md asks) really retries.
    """
    lifecycle.guard(request, "retry_task")
    task = await _task_of(session, request, task_id)
    if task.status is not TaskStatus.failed:
        raise TaskNotRetryable(
            f"Only a failed task can be retried; this one is {task.status.value}.")
    if task.action == TaskAction.lift_notice:  # told again, never sent to a partner
        await lift.resend(session, request, task, actor=(principal.sub, principal.role.value))
        lifecycle.signal_work(session)
        return task
    task.status, task.attempts, task.next_attempt_at = TaskStatus.pending, 0, None
    task.dispatch_round += 1
    task.external_ref = None
    task.throttled_since = None
    task.delivery_uncertain = False
    task.updated_at = utcnow()
    actor = (principal.sub, principal.role.value)
    await note_task(session, request, task, action="task_retried", actor=actor,
                  data={"round": task.dispatch_round,
                        "partner_ref": format_partner_ref(task.id, task.dispatch_round)})
    await lifecycle.settle(session, request, actor=actor)
    lifecycle.signal_work(session)
    return task


async def complete_task(
    session: AsyncSession, *, request: DsrRequest, task_id: uuid.UUID, principal: Principal,
    status: TaskStatus, note: str, retained: list[Retained], vault: Vault,
    decision: str | None = None,
) -> Task:
    """An agent records the outcome of a manual (or failed) task.

    An objection's assessment (art. 21(1)) needs the decision: ``upheld`` (the processing
    stops) or ``overridden`` (it continues on compelling legitimate grounds), with the reasons
    in ``note``; the customer's letter says which, and why."""
    lifecycle.guard(request, "complete_task")
    task = await _task_of(session, request, task_id)
    if task.status not in lifecycle.TASK_NEEDS_PERSON:
        raise TaskNotCompletable(
            f"Only a manual or failed task can be completed by hand; this one is "
            f"{task.status.value}."
        )
    if status is TaskStatus.retained and not retained:
        raise RetainedItemsMissing(
            "A retained outcome must list what is kept, with basis and date.")
    received = request.received_at.astimezone(UTC).date()
    for number, item in enumerate(retained):
        problem = until_problem(item.until, received=received)
        if problem is not None:  # an agent's typo is answered, not recorded as a failure
            raise Unprocessable(f"retained[{number}].until {problem}", errors=[
                {"loc": ["body", "retained", number, "until"], "msg": problem,
                 "type": "value_error"}])
    assessing = task.action == "assess_objection"
    if assessing and decision is None:
        raise DecisionRequired(
            "An objection's assessment needs a decision: upheld or overridden.")
    if decision is not None and not assessing:
        raise DecisionNotApplicable("A decision is recorded only for an objection's assessment.")
    notice = task.action == TaskAction.lift_notice
    if notice:
        await lift.check_completion(session, request, task, status)
    outcome = Outcome(status, summary=note, retained=tuple(retained), code=(
        f"objection_{decision}" if decision else None), params={"decision": decision}
        if decision else {})
    actor = (principal.sub, principal.role.value)
    await apply_outcome(session, request=request, task=task, outcome=outcome, vault=vault,
                        actor=actor)
    if notice:  # the agent sent the letter: the notice period starts now
        await lift.sent_by_agent(session, request, task, actor=actor)
    return task
