"""The electronic-format response (``GET``/``HEAD /v1/requests/{id}/response``).

The customer's own portal token or staff may download; anyone else's request is simply not
found (404). A request that is not finished has no response yet (409), a cancelled one none at
all (409), and one past its retention period is gone (410), whether or not housekeeping has
deleted it yet. The zip is streamed chunk by chunk from the encrypted store, never held whole
in memory; a single ``Range`` is honoured (206, or 416 outside the file) so an interrupted
download resumes, and ``HEAD`` answers the headers alone. Every ``GET`` is recorded in the audit
trail. This route manages its own short transactions (no request-wide session): building a
package may take a while and must not hold a database lock meanwhile.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse

from app.answers import builder, download
from app.answers import store as answer_store
from app.auth import Principal
from app.db import reading, unit_of_work
from app.deps import get_principal
from app.errors import Gone, RangeNotSatisfiable, RequestNotFinished
from app.models import ResponsePackage
from app.schemas import problem_responses
from app.services import lifecycle, request_queries
from app.services import lift as lift_service
from app.services import notices as notice_service

router = APIRouter(prefix="/v1/requests", tags=["responses"])

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
_HEADERS = {
    "Content-Length": {"description": "bytes in this answer", "schema": {"type": "integer"}},
    "ETag": {"description": "the zip's SHA-256 (hex), quoted", "schema": {"type": "string"}},
    "Repr-Digest": {"description": "`sha-256=:<base64>:` of the whole zip (RFC 9530)",
                    "schema": {"type": "string"}},
    "Accept-Ranges": {"description": "`bytes`: a single Range is honoured",
                      "schema": {"type": "string"}},
}
_RANGE_HEADERS = {**_HEADERS, "Content-Range": {
    "description": "`bytes first-last/size`", "schema": {"type": "string"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The response package (zip: manifest.json, report.html, data.json or "
                         "result.json, CSV files for portability)",
          "content": _ZIP, "headers": _HEADERS},
    206: {"description": "The part of the zip that `Range` asked for",
          "content": _ZIP, "headers": _RANGE_HEADERS},
    **problem_responses(401, 404, 409, 422),
    410: {"description": "The package is past its retention period; the request still "
                         "carries its SHA-256", "content": _PROBLEM},
    416: {"description": "The Range lies outside the file; `Content-Range: bytes */size`",
          "content": _PROBLEM},
    503: {"description": "The package could not be prepared just now; try again",
          "content": _PROBLEM},
}
HEAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The headers a download would have, without the zip",
          "headers": _HEADERS},
    **{code: {"description": answer["description"]}
       for code, answer in RESPONSES.items() if code not in (200, 206)},
}
_RANGE = re.compile(r"\Abytes=([0-9]{0,18})-([0-9]{0,18})\Z")
RangeHeader = Annotated[str | None, Header(
    alias="Range", max_length=200, description="one byte range, e.g. `bytes=1048576-`; "
    "several, or a malformed one, get the whole file")]
IfRangeHeader = Annotated[str | None, Header(
    alias="If-Range", max_length=200,
    description="the ETag the client has; Range is honoured only if it still matches")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one satisfiable range in a Range header (inclusive), None to send the whole file;
    ``RangeNotSatisfiable`` when it lies wholly outside the file."""
    match = _RANGE.match(header or "")
    if match is None or match.groups() == ("", ""):
        return None  # absent, several ranges or malformed: RFC 9110 lets the server ignore it
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
        if int(last) == 0:
            raise _unsatisfiable(size)
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None  # syntactically invalid: ignored
    if start >= size:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"The file has {size} bytes; ask for a range within them.",
                               headers={"Content-Range": f"bytes */{size}"})


async def _package(http: Request, request_id: uuid.UUID, principal: Principal
                   ) -> ResponsePackage:
    """The request's package, built first if need be, or the problem that stops a download."""
    app = http.app
    sessionmaker = app.state.sessionmaker
    async with reading(sessionmaker) as session:
        request = await request_queries.get_request(
            session, request_id=request_id, principal=principal)
        package = await session.get(ResponsePackage, request_id)
        status, lifting = request.status, lift_service.lifting(request)
    if package is not None and not answer_store.downloadable(package):
        gone_on = (package.purged_at or package.expires_at).date().isoformat()
        raise Gone(f"The response expired on {gone_on} after its retention period; its "
                   f"SHA-256 was {package.sha256}.")
    if status not in lifecycle.ANSWERED and not (package is not None and lifting):
        # A restriction being lifted has its notice letter as its answer before any system
        # lifts it (art. 18(3)); any other open request has none yet.
        raise RequestNotFinished("The response is produced when the request is finished.")
    if package is None:
        package = await builder.ensure_package(
            sessionmaker, request_id, connectors=app.state.connectors, vault=app.state.vault,
            settings=app.state.settings)
    return package


def _headers(package: ResponsePackage, request_id: uuid.UUID) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(package.sha256)).decode()
    return {
        "Content-Length": str(package.size),
        "Content-Disposition": f'attachment; filename="connect2ip-response-{request_id}.zip"',
        "ETag": f'"{package.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@router.get(
    "/{request_id}/response", response_class=StreamingResponse, responses=RESPONSES,
    summary="Download the electronic-format response (zip)", operation_id="downloadResponse",
)
async def download_response(
    http: Request, request_id: uuid.UUID, principal: PrincipalDep,
    range_: RangeHeader = None, if_range: IfRangeHeader = None,
) -> StreamingResponse:
    package = await _package(http, request_id, principal)
    headers = _headers(package, request_id)
    wanted = None
    if if_range is None or if_range == headers["ETag"]:
        wanted = byte_range(range_, package.size)
    sessionmaker = http.app.state.sessionmaker
    async with unit_of_work(sessionmaker) as session:
        locked = await lifecycle.lock_request(session, request_id)
        await download.record_download(session, locked, package, actor=principal.sub,
                                  role=principal.role.value, byte_range=wanted)
    body = download.iter_package(sessionmaker, package, http.app.state.vault,
                            first=wanted[0] if wanted else 0, last=wanted[1] if wanted else None)
    if wanted is None:
        return StreamingResponse(body, media_type="application/zip", headers=headers)
    first, last = wanted
    headers["Content-Length"] = str(last - first + 1)
    headers["Content-Range"] = f"bytes {first}-{last}/{package.size}"
    return StreamingResponse(body, status_code=206, media_type="application/zip",
                             headers=headers)


@router.head(
    "/{request_id}/response", responses=HEAD_RESPONSES, response_class=Response,
    summary="The response package's size, SHA-256 and ranges, without the zip",
    operation_id="checkResponse",
)
async def check_response(
    http: Request, request_id: uuid.UUID, principal: PrincipalDep,
) -> Response:
    package = await _package(http, request_id, principal)
    return Response(status_code=200, media_type="application/zip",
                    headers=_headers(package, request_id))



@router.get(
    "/{request_id}/notices/{kind}", response_class=Response,
    responses={200: {"description": "The notice as a self-contained HTML page, in the "
                                    "request's language",
                     "content": {"text/html": {"schema": {"type": "string"}}}},
               **problem_responses(401, 404, 422)},
    summary="A notice sent while the request is open (the extension letter)",
    operation_id="getNotice",
)
async def get_notice(
    http: Request, request_id: uuid.UUID, kind: Literal["extension"], principal: PrincipalDep,
) -> Response:
    """Art. 12(3): the letter that tells the customer of an extension, at once. The portal
    shows it when `request.extended` arrives; without a portal an agent prints it."""
    async with reading(http.app.state.sessionmaker) as session:
        request = await request_queries.get_request(
            session, request_id=request_id, principal=principal)
        page = await notice_service.render(session, request, kind)
    return Response(page, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
