"""The electronic-format response (``GET /v1/requests/{id}/response``).

The customer's own portal token or staff may download; anyone else's request is simply not
found (404). A request that is not finished has no response yet (409), a cancelled one none at
all (409), and a purged one is gone (410). The zip is streamed chunk by chunk from the
encrypted store, never held whole in memory, and every download is recorded in the audit
trail. This route manages its own short transactions (no request-wide session): building a
package may take a while and must not hold a database lock meanwhile.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from app.auth import Principal
from app.db import unit_of_work
from app.deps import get_principal
from app.errors import InvalidState
from app.schemas import problem_responses
from app.services import requests as request_service
from app.services import responses as svc

router = APIRouter(prefix="/v1/requests", tags=["responses"])

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The response package (zip: manifest.json, report.html, data.json or "
                         "result.json, CSV files for portability)",
          "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
    **problem_responses(401, 404, 409, 422),
    410: {"description": "The package was deleted after its retention period; the request "
                         "still carries its SHA-256", "content": _PROBLEM},
    503: {"description": "The package could not be prepared just now; try again",
          "content": _PROBLEM},
}


@router.get(
    "/{request_id}/response", response_class=StreamingResponse, responses=RESPONSES,
    summary="Download the electronic-format response (zip)",
)
async def download_response(
    http: Request, request_id: uuid.UUID,
    principal: Annotated[Principal, Depends(get_principal)],
) -> StreamingResponse:
    app = http.app
    sessionmaker = app.state.sessionmaker
    async with sessionmaker() as session:
        request = await request_service.get_request(
            session, request_id=request_id, principal=principal)
        package = await session.get(svc.ResponsePackage, request_id)
        status = request.status
    if package is not None and package.purged_at is not None:
        raise svc.Gone(
            f"The response was deleted on {package.purged_at.date().isoformat()} after its "
            f"retention period; its SHA-256 was {package.sha256}.")
    if status not in svc.ANSWERED:
        raise InvalidState("The response is produced when the request is finished.")
    if package is None:
        package = await svc.ensure_package(
            sessionmaker, request_id, connectors=app.state.connectors, vault=app.state.vault,
            settings=app.state.settings)
    async with unit_of_work(sessionmaker) as session:
        locked = await svc.lock_request(session, request_id)
        await svc.record_download(session, locked, package, actor=principal.sub,
                                  role=principal.role.value)
    digest = base64.b64encode(bytes.fromhex(package.sha256)).decode()
    return StreamingResponse(
        svc.iter_package(sessionmaker, package, app.state.vault),
        media_type="application/zip",
        headers={
            "Content-Length": str(package.size),
            "Content-Disposition": f'attachment; filename="connect2ip-response-{request_id}.zip"',
            "ETag": f'"{package.sha256}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
