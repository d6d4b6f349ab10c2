"""Giving an answer out: its bytes, one decrypted chunk at a time, and the download on the trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.answers.store import CHUNK_BYTES
from app.db import reading, utcnow
from app.models import (
    AuditEvent,
    DsrRequest,
    ResponseChunk,
    ResponsePackage,
)
from app.services import audit
from app.services.vault import Vault


async def iter_package(
    sessionmaker: async_sessionmaker[AsyncSession], package: ResponsePackage, vault: Vault,
    *, first: int = 0, last: int | None = None,
) -> AsyncIterator[bytes]:
    """The zip's bytes ``first``..``last`` (inclusive; all by default), one decrypted chunk at a
    time, each read in its own short session. Every chunk but the last holds ``CHUNK_BYTES``."""
    last = package.size - 1 if last is None else last
    for seq in range(first // CHUNK_BYTES, last // CHUNK_BYTES + 1):
        async with reading(sessionmaker) as session:
            token = await session.scalar(
                select(ResponseChunk.ciphertext)
                .where(col(ResponseChunk.request_id) == package.request_id)
                .where(col(ResponseChunk.seq) == seq))
        if token is None:  # purged while being downloaded
            raise RuntimeError("response chunk missing")
        piece = vault.open_bytes(token)
        offset = seq * CHUNK_BYTES
        yield piece[max(first - offset, 0):last - offset + 1]


# One ``response_downloaded`` event per caller, package and this period: every ranged GET
# used to append one, so a portal token could grow a trail without limit (a client that
# resumes, or one that asks for "bytes=0-0" in a loop). The trail says who fetched which
# package (its SHA-256) and when first in each hour: at most 24 a day per caller for the
# package's 30 days, whatever the client does; HEAD records nothing.
DOWNLOAD_EVENT_PERIOD = timedelta(hours=1)


async def record_download(
    session: AsyncSession, request: DsrRequest, package: ResponsePackage, *, actor: str,
    role: str, byte_range: tuple[int, int] | None = None,
) -> None:
    """Note a download on the trail, unless this caller's download of this package was
    noted within ``DOWNLOAD_EVENT_PERIOD`` (the caller holds the request's lock, so two
    parallel ranges do not both write one)."""
    since = utcnow() - DOWNLOAD_EVENT_PERIOD
    recent = await session.scalars(
        select(AuditEvent)
        .where(col(AuditEvent.request_id) == request.id,
               col(AuditEvent.action) == "response_downloaded",
               col(AuditEvent.actor) == actor, col(AuditEvent.actor_role) == role,
               col(AuditEvent.at) >= since))
    if any(event.data.get("sha256") == package.sha256 for event in recent):
        return
    data: dict[str, Any] = {"sha256": package.sha256, "size": package.size}
    if byte_range is not None:
        data["range"] = f"{byte_range[0]}-{byte_range[1]}"
    await audit.record(
        session, request=request, actor=actor, actor_role=role, action="response_downloaded",
        from_status=request.status.value, to_status=request.status.value, data=data,
    )
