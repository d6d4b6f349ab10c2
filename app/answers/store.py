"""A finished request's answer as stored: one package, encrypted in chunks, with its SHA-256.

The zip is stored in the database in ~1 MiB Fernet-encrypted chunks (``response_chunk``) with
its SHA-256 (``response_package``). Why stored rather than rebuilt on demand: the SHA-256 the
request record carries must stay true for the file the customer has; partners' data changes
after the answer (a rebuilt package would differ from what was given); and one shared database
serves any number of API processes, none of which may rely on a local file. The package is
encrypted at rest with the service's data key, like the partner answers it replaces: once it is
stored, the request's ``task_result`` rows are deleted (the package is now the only copy).

This module is the lowest of the answers: the task service supersedes an answer through it,
and imports nothing of the builder.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers.packages import READ_BYTES, BuiltPackage
from app.db import utcnow
from app.models import (
    DsrRequest,
    ResponseChunk,
    ResponsePackage,
    TaskResult,
)
from app.services import audit, lifecycle
from app.services.vault import Vault

BUILDER = ("response-builder", "system")
CHUNK_BYTES = READ_BYTES  # 1 MiB of zip per encrypted chunk


def response_path(request_id: uuid.UUID) -> str:
    return f"/v1/requests/{request_id}/response"


def response_info(
    request: DsrRequest, package: ResponsePackage | None
) -> tuple[dict[str, Any] | None, str | None]:
    """What the request resource says about its response: (info, download URL or None)."""
    info = None
    if package is not None:
        info = {"sha256": package.sha256, "size": package.size,
                "created_at": package.created_at, "expires_at": package.expires_at,
                "purged_at": package.purged_at}
    available = request.status in lifecycle.ANSWERED and (package is None or downloadable(package))
    return info, (response_path(request.id) if available else None)


def downloadable(package: ResponsePackage, now: datetime | None = None) -> bool:
    """Whether a package may still be given out: not purged and not past its expiry (which
    housekeeping only later acts on)."""
    return package.purged_at is None and package.expires_at > (now or utcnow())


_PACKAGES_OF = select(ResponsePackage).where(
    col(ResponsePackage.request_id).in_(bindparam("ids", expanding=True)))


async def packages_for(
    session: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ResponsePackage]:
    if not request_ids:
        return {}
    rows = await session.scalars(_PACKAGES_OF, {"ids": request_ids})
    return {row.request_id: row for row in rows}


async def store(
    session: AsyncSession, request: DsrRequest, built: BuiltPackage, *, vault: Vault,
    retention_days: int, now: datetime | None = None,
) -> ResponsePackage:
    """Store a built zip encrypted in chunks (caller holds the request's row lock)."""
    now = now or utcnow()
    package = ResponsePackage(
        request_id=request.id, sha256=built.sha256, size=built.size,
        files=[f.as_dict() for f in built.files], created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    session.add(package)
    await session.flush()
    seq = 0
    with built.path.open("rb") as handle:
        while piece := handle.read(CHUNK_BYTES):
            await session.execute(insert(ResponseChunk).values(
                request_id=request.id, seq=seq, ciphertext=vault.seal_bytes(piece)))
            seq += 1
    package.chunks = seq
    request.answer_pending = False
    await session.execute(delete(TaskResult).where(col(TaskResult.request_id) == request.id))
    await audit.record(
        session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
        action="response_built", from_status=request.status.value,
        to_status=request.status.value, at=now,
        data={"sha256": built.sha256, "size": built.size,
              "files": [f.name for f in built.files],
              "expires_at": package.expires_at.isoformat()},
    )
    return package


async def supersede(session: AsyncSession, request: DsrRequest) -> None:
    """Drop the stored answer so a new one is built (the request was reopened, e.g. to lift a
    restriction). Its SHA-256 stays on the audit trail: the copy the customer has remains
    verifiable against it."""
    package = await session.get(ResponsePackage, request.id)
    if package is None:
        return
    await audit.record(
        session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
        action="response_superseded", from_status=request.status.value,
        to_status=request.status.value, data={"sha256": package.sha256, "size": package.size},
    )
    await session.execute(delete(ResponseChunk).where(col(ResponseChunk.request_id) == request.id))
    await session.delete(package)
    await session.flush()
