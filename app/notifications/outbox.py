"""The notification outbox: what a change tells the portal, written in the change's transaction.

:func:`emit` writes a :class:`~app.models.Notification` in the transaction of the change it
reports, so a notification exists exactly when its change committed; delivery is
:mod:`app.notifications.delivery`, a job kind on the worker.

Payloads carry ids, statuses, dates and codes only: the customer number (the portal's own
key), the request id, type and status, never a name, personnummer, e-mail or address, and never
an agent's free text (a reason, a note): :func:`emit` refuses those keys.

With ``DSR_PORTAL_WEBHOOK_URL`` unset nothing is written and nothing piles up: the flag travels
in each session's ``info`` (set by :func:`app.db.create_sessionmaker`).

This module imports no workflow (lifecycle, lift): those import it, inside their transactions.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import utcnow
from app.models import DsrRequest, Notification
from app.worker.wakeup import signal_work

ENABLED = "dsr_notify"
EVENTS = (
    "request.received", "request.verified", "request.extended", "request.completed",
    "request.rejected", "request.cancelled", "request.action_required",
    "restriction.lift_notice",
)
# Keys of an agent's free text, which may hold anything (personal data too): never sent.
FREE_TEXT = frozenset({"reason", "note", "grounds", "explanation", "summary"})


def enabled(session: AsyncSession) -> bool:
    return bool(session.info.get(ENABLED))


async def emit(
    session: AsyncSession, request: DsrRequest, event: str, **extra: Any
) -> Notification | None:
    """Queue ``event`` about ``request`` for the portal, in the caller's transaction."""
    assert event in EVENTS, event
    assert FREE_TEXT.isdisjoint(extra), f"no free text in a notification: {sorted(extra)}"
    if not enabled(session):
        return None
    now = utcnow()
    data = {"request_id": str(request.id), "customer_number": request.customer_number,
            "request_type": request.type.value, "status": request.status.value, **extra}
    notification = Notification(request_id=request.id, event=event, payload=data,
                                created_at=now, next_attempt_at=now)
    session.add(notification)
    signal_work(session)
    return notification


def body_of(notification: Notification) -> str:
    """The delivered JSON, as Standard Webhooks lays an event out."""
    return json.dumps({
        "type": notification.event,
        "timestamp": notification.created_at.isoformat().replace("+00:00", "Z"),
        "data": notification.payload,
    }, separators=(",", ":"), ensure_ascii=False)


async def for_request(session: AsyncSession, request_id: uuid.UUID) -> list[Notification]:
    rows = await session.scalars(
        select(Notification).where(col(Notification.request_id) == request_id)
        .order_by(col(Notification.created_at), col(Notification.id)))
    return list(rows)
