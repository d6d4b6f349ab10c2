"""Housekeeping the service does on its own data, a periodic job one worker of all runs.

It is idempotent: a worker that dies mid-run leaves nothing the next run cannot finish.
Besides the rows below, expired answer packages are purged
(:func:`app.answers.purge.purge_expired`).

- Webhook receipts are only needed while a partner may still redeliver (Standard Webhooks
  retries span hours): kept ``DSR_WEBHOOK_RECEIPT_DAYS`` (default 7).
- Idempotency keys protect against double submission, which happens within minutes: kept
  ``DSR_IDEMPOTENCY_KEY_DAYS`` (default 7).
Both hold no personal data; deleting them keeps the tables small.
- Case records (a finished request with its tasks, results and audit trail) are the evidence
  of compliance and are kept ``DSR_CASE_RETENTION_DAYS`` after the request and its last
  scheduled work (a deferred erasure) finished (default three years, the period in which a
  complaint about the handling is realistically raised), then deleted whole. The service
  stores no IP addresses at all, so the policy's 24-hour rule has nothing here to delete.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.answers.purge import purge_expired
from app.db import unit_of_work, utcnow
from app.models import DsrRequest, IdempotencyKey, Task, TaskStatus, WebhookReceipt
from app.settings import Settings

log = logging.getLogger("app.retention")


async def purge_housekeeping(
    session: AsyncSession, *, settings: Settings, now: datetime
) -> dict[str, int]:
    receipts = await session.execute(
        delete(WebhookReceipt).where(col(WebhookReceipt.received_at) < now - timedelta(
            days=settings.webhook_receipt_days))
    )
    keys = await session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < now - timedelta(
            days=settings.idempotency_key_days))
    )
    cutoff = now - timedelta(days=settings.case_retention_days)
    # The clock starts when the last work of the case ran: a case with a deferred erasure
    # still scheduled (or one that ran within the period) is kept.
    cases = await session.execute(
        delete(DsrRequest).where(
            col(DsrRequest.finished_at) < cutoff,
            ~exists().where(
                col(Task.request_id) == col(DsrRequest.id),
                col(Task.scheduled_for).is_not(None),
                or_(col(Task.status) == TaskStatus.scheduled, col(Task.finished_at).is_(None),
                    col(Task.finished_at) >= cutoff),
            ),
        )
    )
    counts = {"webhook_receipts": receipts.rowcount or 0,  # type: ignore[attr-defined]
              "idempotency_keys": keys.rowcount or 0,  # type: ignore[attr-defined]
              "cases": cases.rowcount or 0}  # type: ignore[attr-defined]
    if any(counts.values()):
        log.info("housekeeping purged rows", extra=counts)
    return counts


async def housekeeping(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, int]:
    """Retention work on the service's own data, one transaction each; what it deleted, by
    kind. An error propagates (the periodic job records it and runs again next interval)."""
    async with unit_of_work(sessionmaker) as session:
        counts = await purge_housekeeping(session, settings=settings, now=utcnow())
    async with unit_of_work(sessionmaker) as session:
        counts |= await purge_expired(session, utcnow(),
                                      retention_days=settings.response_retention_days)
    return counts
