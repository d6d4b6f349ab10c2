"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457).

::

    DsrError                      500  (base; never raised directly)
    ├── BadRequest                400
    ├── Unauthorized              401
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── Conflict                  409
    │   ├── InvalidState          409  (an action the request's status does not allow)
    │   └── IdempotencyMismatch   409  (same Idempotency-Key, other body)
    ├── PayloadTooLarge           413
    └── Unprocessable             422
    ConnectorError                     (raised by connectors, handled by the dispatcher)
    ├── TransientError                 (timeouts, 429, 5xx: retried, honouring Retry-After)
    └── PermanentError                 (other 4xx, bad configuration: the task fails)

Nothing below the routers raises ``HTTPException``. Error bodies carry a ``detail`` written for
the caller and never an exception message, SQL or personal data; unexpected exceptions are logged
by type and traceback frames only, because their messages may hold SQL parameters.
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://dsr.connect2ip.se/problems/"

log = logging.getLogger("app.errors")


class DsrError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(DsrError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(DsrError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DsrError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(DsrError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DsrError):
    status, slug, title = 409, "conflict", "Conflict"


class InvalidState(Conflict):
    slug, title = "invalid-state", "Not allowed in the request's current status"


class IdempotencyMismatch(Conflict):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another body"


class PayloadTooLarge(DsrError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class Unprocessable(DsrError):
    status, slug, title = 422, "validation-error", "Invalid request"


class ConnectorError(Exception):
    """A partner call went wrong; ``reason`` is safe to store and show (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ConnectorError):
    """Try again later. ``maybe_delivered``: the partner may have applied the call (a timeout
    while waiting for the answer, a 5xx) rather than certainly not (429, connection refused)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, throttled: bool = False,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        # A 429 is the partner pacing us, not a failure: it does not use up an attempt.
        self.throttled = throttled
        self.maybe_delivered = maybe_delivered and not throttled


class PermanentError(ConnectorError):
    pass


def problem(
    status: int, *, slug: str, title: str, detail: str, headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _safe_loc(loc: tuple[Any, ...]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    # pydantic puts the offending input (and sometimes parts of it in ``ctx``) in each error;
    # that input may be personal data, so only the location, message and type leave.
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem(
            400, slug="malformed-json", title="Malformed JSON",
            detail="The request body is not valid JSON.",
        )
    fields = [
        {"loc": _safe_loc(tuple(err.get("loc", ()))),
         "msg": str(err.get("msg", "")).removeprefix("Value error, "),
         "type": str(err.get("type", ""))}
        for err in errors
    ]
    summary = "; ".join(
        f"{'.'.join(str(p) for p in f['loc'][1:] or f['loc'])}: {f['msg']}" for f in fields[:5]
    )
    return problem(
        422, slug="validation-error", title="Invalid request",
        detail=summary or "The request is invalid.", errors=fields,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DsrError)
    async def _dsr_error(_request: Request, exc: DsrError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(
            exc.status, slug=exc.slug, title=exc.title, detail=exc.detail, headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        phrase = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        return problem(
            exc.status_code, slug=phrase.lower().replace(" ", "-"), title=phrase, detail=detail,
            headers=getattr(exc, "headers", None),
        )



def log_unexpected(exc: BaseException) -> None:
    log.error(
        "unhandled error", extra={"error_type": type(exc).__name__, "frames": safe_frames(exc)}
    )


def internal_error() -> JSONResponse:
    """The answer to anything unexpected (see :mod:`app.middleware`, which catches it)."""
    return problem(
        500, slug="internal-error", title="Internal error",
        detail="Something went wrong on our side. The request ID identifies it in our logs.",
    )


def safe_frames(exc: BaseException) -> list[str]:
    """Where an exception came from, without its message (which may carry SQL or data)."""
    return [
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ][-12:]
