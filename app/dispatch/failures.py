"""What a partner's error does to its task: retry, give up, ask again, or close.

The retry and throttle policy is the worker's (:mod:`app.worker.retry`); what is this
domain's: a failed poll is asked again later (the partner has the job, or may have); nothing
new is started for a request being closed (an attempt that surely did not arrive ends there,
one that may have arrived is asked about, where the partner can be asked); a task given up
says why, in words an agent can read.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.connectors.base import Outcome
from app.db import utcnow
from app.dispatch import rules
from app.errors import ConnectorError
from app.models import DsrRequest, Task, TaskStatus
from app.services import tasks as task_service
from app.services.lifecycle import SYSTEM_ACTOR
from app.services.vault import Vault
from app.settings import Settings
from app.worker import retry


def policy(settings: Settings) -> retry.Policy:
    return retry.Policy(base_s=settings.retry_base_s, cap_s=settings.retry_max_s,
                        max_attempts=settings.task_max_attempts,
                        retry_after_cap_s=settings.retry_after_cap_s,
                        max_throttle_s=settings.max_throttle_s)


async def apply_error(
    session: AsyncSession, request: DsrRequest, task: Task, exc: ConnectorError, *,
    transient: bool, polling: bool, settings: Settings, vault: Vault, rng: random.Random,
) -> bool:
    """Record ``exc`` on the task; True if a retry was scheduled (for the metric)."""
    now = utcnow()
    throttled, maybe_delivered = retry.throttled(exc), retry.maybe_delivered(exc)
    if transient and polling:
        # a failed poll: the partner has the job (or may have); ask again later
        task.lease_owner = task.lease_until = None
        task.next_attempt_at = now + timedelta(seconds=settings.retry_max_s)
        return False
    if request.closing_as is not None:
        # Nothing new is started for a request being closed: an attempt that surely
        # did not arrive ends here; one that may have arrived is asked about.
        await close_after_error(session, request, task, exc, maybe_delivered, vault=vault)
        return False
    decision = retry.decide(exc, transient=transient, attempts=task.attempts,
                            throttled_since=task.throttled_since, now=now,
                            policy=policy(settings), rng=rng)
    task.attempts = decision.attempts
    if decision.throttled_out:
        await task_service.fail(session, request=request, task=task, reason=(
            f"{task.system} kept answering 429 (rate limited) for over "
            f"{int(settings.max_throttle_s)} s; stopped retrying"))
        return False
    if decision.delay_s is not None:
        await task_service.schedule_retry(
            session, request=request, task=task, reason=exc.reason, delay_s=decision.delay_s,
            throttled=throttled, maybe_delivered=maybe_delivered)
        return True
    reason = exc.reason if not transient else (
        f"{exc.reason} (gave up after {task.attempts} attempts)")
    await task_service.fail(session, request=request, task=task, reason=reason)
    return False


async def close_after_error(
    session: AsyncSession, request: DsrRequest, task: Task, exc: ConnectorError,
    maybe_delivered: bool, *, vault: Vault,
) -> None:
    if maybe_delivered and rules.asks_when_closing(task.system):
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
        session, request=request, task=task, outcome=outcome, vault=vault)
