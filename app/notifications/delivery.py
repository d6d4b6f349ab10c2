"""Delivering the outbox to the portal backend (Standard Webhooks): a job on the worker.

:class:`Notifier`, run by every worker, delivers what :func:`app.notifications.outbox.emit`
wrote: signed per Standard Webhooks (``webhook-id`` is the notification id, stable across
attempts), in order per request (a later event waits until the earlier ones are delivered or
given up), with exponential backoff, and given up — ``failed``, visible to agents in
``GET /v1/requests/{id}/notifications`` and on the audit trail — only after
``DSR_NOTIFY_GIVE_UP_S`` (four days by default; the portal is promised at least three).
The worker drains what is due each round of its loop (a periodic job with no interval); leases
and the backoff are the worker's (:mod:`app.worker.lease`, :mod:`app.worker.retry`).
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook

from app.db import unit_of_work, utcnow
from app.models import DsrRequest, Notification, NotificationStatus
from app.notifications.outbox import body_of
from app.settings import Settings
from app.worker import lease, retry
from app.worker.wakeup import signal_work

log = logging.getLogger("app.notify")
LEASE_S = 60.0


class Notifier:
    """Delivers due notifications; any number of workers may run one (leases, SKIP LOCKED)."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                 client: httpx.AsyncClient, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.client = client
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        secret = settings.portal_webhook_secret
        self.webhook = Webhook(secret.get_secret_value()) if secret is not None else None

    def _deliverable(self, now: datetime) -> Any:
        earlier = aliased(Notification)
        return and_(
            col(Notification.status) == NotificationStatus.pending,
            col(Notification.next_attempt_at) <= now,
            lease.free(col(Notification.lease_until), now),
            ~exists().where(  # in order per request: nothing earlier is still undelivered
                col(earlier.request_id) == col(Notification.request_id),
                col(earlier.status) == NotificationStatus.pending,
                or_(col(earlier.created_at) < col(Notification.created_at),
                    and_(col(earlier.created_at) == col(Notification.created_at),
                         col(earlier.id) < col(Notification.id))),
            ),
        )

    async def deliver_due(self, limit: int = 32) -> int:
        """Claim and send what is due; returns how many were delivered."""
        if self.webhook is None or not self.settings.portal_webhook_url:
            return 0
        now = utcnow()
        async with unit_of_work(self.sessionmaker) as session:
            rows = list(await session.scalars(lease.skip_locked(
                select(Notification).where(self._deliverable(now))
                .order_by(col(Notification.created_at), col(Notification.id)).limit(limit))))
            for row in rows:
                row.lease_until = now + timedelta(seconds=LEASE_S)
                row.attempts += 1
            claimed = [(row.id, body_of(row), row.attempts, row.created_at) for row in rows]
        delivered = 0
        for notification_id, body, attempts, created_at in claimed:
            error = await self._send(notification_id, body)
            await self._record(notification_id, error, attempts, created_at)
            delivered += error is None
        return delivered

    async def _send(self, notification_id: uuid.UUID, body: str) -> str | None:
        assert self.webhook is not None and self.settings.portal_webhook_url
        at = utcnow()
        msg_id = f"msg_{notification_id.hex}"
        headers = {"content-type": "application/json", "webhook-id": msg_id,
                   "webhook-timestamp": str(int(at.timestamp())),
                   "webhook-signature": self.webhook.sign(msg_id, at, body)}
        try:
            response = await self.client.post(
                self.settings.portal_webhook_url, content=body.encode(), headers=headers,
                timeout=self.settings.portal_webhook_timeout_s)
        except httpx.TimeoutException:
            return "the portal did not answer in time"
        except httpx.HTTPError:
            return "the portal could not be reached"
        if 200 <= response.status_code < 300:
            return None
        return f"the portal answered {response.status_code}"

    async def _record(self, notification_id: uuid.UUID, error: str | None, attempts: int,
                      created_at: datetime) -> None:
        from app.services import lifecycle, lift

        now = utcnow()
        async with unit_of_work(self.sessionmaker) as session:
            row = await session.get(Notification, notification_id, with_for_update=True)
            if row is None:
                return
            row.lease_until = None
            if error is None:
                row.status, row.delivered_at, row.last_error = (
                    NotificationStatus.delivered, now, None)
                signal_work(session)  # the next event of this request may go now
                if row.event == lift.NOTICE_EVENT:  # art. 18(3): the notice period starts
                    await lift.portal_acknowledged(session, row)
                return
            row.last_error = error
            if (now - created_at).total_seconds() >= self.settings.notify_give_up_s:
                row.status = NotificationStatus.failed
                request = await session.get(DsrRequest, row.request_id, with_for_update=True)
                if request is not None:
                    await lifecycle.note(
                        session, request, action="notification_failed",
                        actor=("notifier", "system"),
                        data={"notification_id": str(row.id), "event": row.event,
                              "attempts": attempts, "reason": error})
                log.warning("portal notification given up", extra={
                    "notification_id": str(row.id), "dsr_request_id": str(row.request_id)})
                if request is not None and row.event == lift.NOTICE_EVENT:
                    await lift.portal_gave_up(session, row)  # the customer was not told
                return
            row.next_attempt_at = now + timedelta(seconds=retry.backoff_delay(
                attempts, base=self.settings.notify_retry_base_s,
                cap=self.settings.notify_retry_max_s, rng=self.rng))
