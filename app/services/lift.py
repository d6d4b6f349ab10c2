"""Art. 18(3): a restriction is lifted only after the customer was told, and a notice period.

::

    POST /lift ──▶ begin: a ``lift_restriction`` task per system where the restriction was
                   applied and one ``lift_notice`` task, all ``scheduled`` with no date (so
                   never claimable); the answer is built again: the notice letter
    letter stored ──▶ letter_stored: with a portal, ``restriction.lift_notice`` is queued and
                   the notice task waits for it; without one the notice task is ``manual``
                   (an agent sends the letter; the request is ``action_required``)
    delivered ──▶ release: the portal acknowledged the notice, or an agent completed the
                   notice task: every lift task is scheduled for the delivery time plus
                   ``DSR_LIFT_NOTICE_S``, and the worker claims it then
    given up ──▶ the notice task fails: ``action_required``, nothing is lifted until an agent
                   completes it (the letter sent another way) or retries it (the portal is
                   notified again)

The gate is the lift tasks' own state: an unreleased lift task has no ``ready_at``, so the
claim walks its index as for any task, with no condition that costs other tasks anything.
Neither the lift tasks nor the notice task settle the request while they wait
(``lifecycle.settled``): it is done once every system has lifted the restriction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.connectors.base import Outcome
from app.db import utcnow
from app.errors import NoticeLetterNotReady, NoticeOutcomeNotDone
from app.models import (
    DsrRequest,
    Notification,
    ResponsePackage,
    Task,
    TaskAction,
    TaskStatus,
)
from app.notifications import outbox
from app.partners import register
from app.services import lifecycle
from app.services import tasks as task_service
from app.services.lifecycle import Actor
from app.settings import Settings

LIFT_ACTION = TaskAction.lift_restriction.value
NOTICE_ACTION = TaskAction.lift_notice.value
NOTICE_SYSTEM = register().name  # the register holds the address the letter goes to
NOTICE_EVENT = "restriction.lift_notice"
NOTIFIER: Actor = ("notifier", "system")

WAITING_FOR_LETTER = "Waiting for the notice letter (the request's answer) to be built."
WAITING_FOR_PORTAL = ("The notice was sent to the customer portal; the lift starts once the "
                      "portal has acknowledged it and the notice period has passed.")
INSTRUCTION = (
    "Send the customer the notice that the restriction will be lifted: the letter is the "
    "request's answer, to the address in the customer register. Complete this task with "
    "outcome done once it has been sent; every system lifts the restriction when the notice "
    "period has passed after that.")

_LIFT_TASKS = (select(Task)
               .where(col(Task.request_id) == bindparam("request_id"),
                      col(Task.action).in_([LIFT_ACTION, NOTICE_ACTION]))
               .with_for_update())


def is_notice(task: Task) -> bool:
    return task.action == NOTICE_ACTION


def lifting(request: DsrRequest) -> bool:
    """A restriction reopened to be lifted, and still open: its notice letter may be built."""
    return (request.lift_requested_at is not None and request.closing_as is None
            and request.status in lifecycle.ACTIVE)


async def _tasks(session: AsyncSession, request: DsrRequest) -> tuple[Task | None, list[Task]]:
    """The request's notice task (if any) and its lift tasks, locked."""
    rows = list(await session.scalars(_LIFT_TASKS, {"request_id": request.id}))
    notice = next((task for task in rows if is_notice(task)), None)
    return notice, [task for task in rows if task.action == LIFT_ACTION]


async def _note(session: AsyncSession, request: DsrRequest, task: Task, action: str,
                actor: Actor, **data: Any) -> None:
    await lifecycle.note(session, request, action=action, actor=actor, data={
        "task_id": str(task.id), "system": task.system, "task_action": task.action,
        "task_status": task.status.value, **data})


async def begin(session: AsyncSession, request: DsrRequest, *, systems: list[str]) -> None:
    """The lift's tasks: one per system in ``systems`` and the notice, none claimable yet."""
    if not systems:
        return
    for system in systems:
        session.add(Task.of(request, system, LIFT_ACTION, status=TaskStatus.scheduled))
    session.add(Task.of(request, NOTICE_SYSTEM, NOTICE_ACTION, status=TaskStatus.scheduled,
                        outcome={"summary": WAITING_FOR_LETTER}))
    await session.flush()


async def letter_stored(
    session: AsyncSession, request: DsrRequest, package: ResponsePackage, *,
    settings: Settings,
) -> None:
    """The notice letter is stored (in the transaction that stores it): the customer is told,
    through the portal or by an agent. The notice period is fixed now, on the notice task."""
    notice, _lifts = await _tasks(session, request)
    if notice is None or notice.status is not TaskStatus.scheduled \
            or "notice_period_s" in (notice.params or {}):
        return
    now = utcnow()
    period = settings.lift_notice_s
    notice.params = {"notice_period_s": period, "letter_sha256": package.sha256}
    notice.updated_at = now
    await _send(session, request, notice, actor=lifecycle.SYSTEM_ACTOR, now=now)


async def _send(session: AsyncSession, request: DsrRequest, notice: Task, *, actor: Actor,
                now: datetime) -> None:
    """Tell the customer: queue the portal notification, or hand the letter to an agent."""
    params = dict(notice.params or {})
    period = float(params["notice_period_s"])
    notification = await outbox.emit(
        session, request, NOTICE_EVENT, notice_period_s=int(period),
        # the earliest the lift may start: the period runs from the portal's acknowledgement
        lift_from=(now + timedelta(seconds=period)).isoformat())
    if notification is not None:
        notice.status, notice.outcome = TaskStatus.scheduled, {"summary": WAITING_FOR_PORTAL}
        notice.params = {**params, "notification_id": str(notification.id)}
        await _note(session, request, notice, "task_scheduled", actor,
                    notification_id=str(notification.id), notice_period_s=period)
    else:
        notice.status, notice.outcome = TaskStatus.manual, {"summary": INSTRUCTION}
        await _note(session, request, notice, "task_manual", actor, summary=INSTRUCTION,
                    notice_period_s=period)
    notice.last_error, notice.updated_at = None, now
    await lifecycle.settle(session, request, actor=actor)


async def letter_ready(session: AsyncSession, request: DsrRequest, notice: Task) -> bool:
    """The notice letter, built after the lift was asked for, is stored."""
    package = await session.get(ResponsePackage, request.id)
    return (package is not None and request.lift_requested_at is not None
            and package.created_at >= request.lift_requested_at
            and "notice_period_s" in (notice.params or {}))


async def check_completion(
    session: AsyncSession, request: DsrRequest, notice: Task, status: TaskStatus
) -> None:
    """An agent may complete the notice task only to say the letter was sent, and only once
    it exists."""
    if status is not TaskStatus.done:
        raise NoticeOutcomeNotDone("A lift notice is completed with outcome done, once the "
                                   "letter has been sent to the customer.")
    if not await letter_ready(session, request, notice):
        raise NoticeLetterNotReady("The notice letter has not been built yet; try again shortly.")


async def sent_by_agent(
    session: AsyncSession, request: DsrRequest, notice: Task, *, actor: Actor
) -> None:
    """The agent completed the notice task (done): the notice period starts now."""
    _notice, lifts = await _tasks(session, request)
    await _release(session, request, notice, lifts, delivered_at=notice.finished_at or utcnow(),
                   via="agent", actor=actor)


async def resend(
    session: AsyncSession, request: DsrRequest, notice: Task, *, actor: Actor
) -> None:
    """An agent retries a notice the portal never acknowledged: it is sent again."""
    if "notice_period_s" not in (notice.params or {}):
        raise NoticeLetterNotReady("The notice letter has not been built yet; try again shortly.")
    await _note(session, request, notice, "task_retried", actor,
                previous_error=notice.last_error)
    await _send(session, request, notice, actor=actor, now=utcnow())


async def _matching(
    session: AsyncSession, notification: Notification
) -> tuple[DsrRequest, Task, list[Task]] | None:
    """The request and its waiting notice task that ``notification`` is the notice of."""
    request = await lifecycle.lock_request(session, notification.request_id)
    notice, lifts = await _tasks(session, request)
    if notice is None or notice.status is not TaskStatus.scheduled \
            or (notice.params or {}).get("notification_id") != str(notification.id):
        return None  # an earlier attempt's notification, or the lift was stopped
    return request, notice, lifts


async def portal_acknowledged(session: AsyncSession, notification: Notification) -> None:
    """The portal acknowledged ``restriction.lift_notice`` (in the transaction that records
    it): the notice is delivered and the period starts."""
    found = await _matching(session, notification)
    if found is None:
        return
    request, notice, lifts = found
    delivered_at = notification.delivered_at or utcnow()
    await task_service.apply_outcome(
        session, request=request, task=notice, vault=None, actor=NOTIFIER,
        outcome=Outcome(TaskStatus.done, "The customer portal acknowledged the notice."))
    await _release(session, request, notice, lifts, delivered_at=delivered_at, via="portal",
                   actor=NOTIFIER)


async def portal_gave_up(session: AsyncSession, notification: Notification) -> None:
    """The portal never acknowledged the notice: nothing is lifted, an agent must act."""
    found = await _matching(session, notification)
    if found is None:
        return
    request, notice, _lifts = found
    await task_service.fail(session, request=request, task=notice, actor=NOTIFIER, reason=(
        "The customer portal never acknowledged the notice (restriction.lift_notice), so the "
        "customer has not been told and nothing is lifted. Send the letter another way and "
        "complete this task, or retry it to notify the portal again."))


async def _release(
    session: AsyncSession, request: DsrRequest, notice: Task, lifts: list[Task], *,
    delivered_at: datetime, via: str, actor: Actor,
) -> None:
    """The notice is delivered: every lift task falls due when the notice period is over."""
    if not await letter_ready(session, request, notice):  # never lift before the letter
        raise NoticeLetterNotReady("The notice letter has not been built yet; try again shortly.")
    period = float((notice.params or {})["notice_period_s"])
    lift_from = delivered_at + timedelta(seconds=period)
    now = utcnow()
    released = []
    for task in lifts:
        if task.status is TaskStatus.scheduled and task.scheduled_for is None:
            task.scheduled_for, task.updated_at = lift_from, now
            released.append(str(task.id))
    await lifecycle.note(session, request, action="lift_notice_delivered", actor=actor, data={
        "task_id": str(notice.id), "via": via, "delivered_at": delivered_at.isoformat(),
        "notice_period_s": period, "lift_from": lift_from.isoformat(),
        "letter_sha256": (notice.params or {}).get("letter_sha256"), "lift_tasks": released})
    lifecycle.signal_work(session)


def facts(
    request: DsrRequest, tasks: list[Task], notice_period_s: float | None
) -> dict[str, Any]:
    """What the letter may say about the lift (``RequestFacts.lift``): dates as ISO strings,
    None while not known (the notice letter is built before the notice is delivered, so it
    has ``notice_period_s`` and no dates); ``notice_period_s`` as the notice task recorded it,
    else the one given (the setting now)."""
    notice = next((task for task in tasks if is_notice(task)), None)
    delivered = notice.finished_at if notice is not None \
        and notice.status is TaskStatus.done else None
    dated = [task.scheduled_for for task in tasks
             if task.action == LIFT_ACTION and task.scheduled_for is not None]
    recorded = (notice.params or {}).get("notice_period_s") if notice is not None else None
    return {
        "reason": request.lift_reason,
        "requested_at": request.lift_requested_at.isoformat()
        if request.lift_requested_at else None,
        "notice_delivered_at": delivered.isoformat() if delivered else None,
        "lift_from": min(dated).isoformat() if dated else None,
        "notice_period_s": float(recorded) if recorded is not None
        else notice_period_s,
    }
