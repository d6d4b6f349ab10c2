"""Answers are kept ``DSR_RESPONSE_RETENTION_DAYS`` (default 30), then purged.

:func:`purge_expired` deletes the chunks but keeps the ``response_package`` row (SHA-256, size,
``purged_at``): the request still shows that a response was given and what it was; a download
then answers 410 Gone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers.store import BUILDER
from app.models import (
    DsrRequest,
    RequestStatus,
    ResponseChunk,
    ResponsePackage,
    TaskResult,
)
from app.services import audit, lifecycle
from app.services.lifecycle import lock_request

log = logging.getLogger("app.responses")


async def purge_expired(
    session: AsyncSession, now: datetime, *, retention_days: int = 30,
) -> dict[str, int]:
    """Delete expired packages' chunks (keeping their SHA-256) and stale partner answers.

    - a package past ``expires_at``: its chunks are deleted and ``purged_at`` set, with an
      audit event; the request keeps the package row and so its SHA-256;
    - partner answers (``task_result``) of a cancelled request, or of an answered request
      ``retention_days`` after it finished whose package was never built, are deleted too.
    Idempotent; any worker may run it.
    """
    expired = list(await session.scalars(
        select(ResponsePackage)
        .where(col(ResponsePackage.expires_at) <= now)
        .where(col(ResponsePackage.purged_at).is_(None))))
    for package in expired:
        request = await lock_request(session, package.request_id)
        await session.execute(
            delete(ResponseChunk).where(col(ResponseChunk.request_id) == package.request_id))
        await session.execute(
            delete(TaskResult).where(col(TaskResult.request_id) == package.request_id))
        package.purged_at = now
        await audit.record(
            session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
            action="response_purged", from_status=request.status.value,
            to_status=request.status.value, data={"sha256": package.sha256}, at=now)
    stale = (
        select(DsrRequest.id)
        .outerjoin(ResponsePackage, col(ResponsePackage.request_id) == col(DsrRequest.id))
        .where(col(ResponsePackage.request_id).is_(None))
        .where((col(DsrRequest.status) == RequestStatus.cancelled.value)
               | ((col(DsrRequest.status).in_([s.value for s in lifecycle.ANSWERED]))
                  & (col(DsrRequest.finished_at) <= now - timedelta(days=retention_days))))
    )
    results = await session.execute(
        delete(TaskResult).where(col(TaskResult.request_id).in_(stale)))
    counts = {"packages": len(expired),
              "task_results": results.rowcount or 0}  # type: ignore[attr-defined]
    if any(counts.values()):
        log.info("response retention purged", extra=counts)
    return counts
