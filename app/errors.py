"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457).

::

    DsrError                      500  (base; never raised directly)
    ├── BadRequest                400
    │   ├── MalformedBody         400  (not UTF-8 JSON: one type for every unreadable body)
    │   └── InvalidCursor         400
    ├── Unauthorized              401
    │   └── InvalidSignature      401  (a partner callback's Standard Webhooks signature)
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── MethodNotAllowed          405
    ├── Conflict                  409
    │   ├── InvalidState          409  (an action the request's status does not allow)
    │   └── IdempotencyMismatch   409  (same Idempotency-Key, other body)
    ├── Gone                      410  (a response package past its retention period)
    ├── PayloadTooLarge           413
    ├── RangeNotSatisfiable       416
    ├── Unprocessable             422
    ├── HeadersTooLarge           431
    └── NotReady                  503  (a response package that cannot be built just now)
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
    """A problem the caller is told about; ``meaning`` is published with the problem types."""

    status = 500
    slug = "internal-error"
    title = "Internal error"
    meaning = "Something unexpected went wrong on the service's side; the request ID names it."

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class BadRequest(DsrError):
    status, slug, title = 400, "bad-request", "Bad request"
    meaning = "The request cannot be acted on as sent (e.g. a webhook-id that is too long)."


class MalformedBody(BadRequest):
    slug, title = "malformed-json", "Malformed JSON"
    meaning = "The request body is not valid JSON in UTF-8."


class InvalidCursor(BadRequest):
    slug, title = "invalid-cursor", "Invalid cursor"
    meaning = "The paging cursor is not one this service issued; start again without it."


class Unauthorized(DsrError):
    status, slug, title = 401, "unauthorized", "Unauthorized"
    meaning = ("The bearer token (or, on a webhook, the signature) is missing, expired, "
               "malformed or signed with the wrong key.")


class InvalidSignature(Unauthorized):
    slug, title = "invalid-signature", "Invalid webhook signature"
    meaning = ("A partner callback whose Standard Webhooks signature is missing or wrong, or "
               "whose webhook-timestamp is more than 5 minutes off.")


class Forbidden(DsrError):
    status, slug, title = 403, "forbidden", "Forbidden"
    meaning = "The caller's role may not do this (e.g. a portal token on an agent action)."


class NotFound(DsrError):
    status, slug, title = 404, "not-found", "Not found"
    meaning = "No such resource, or not one the caller may see (no existence leak)."


class MethodNotAllowed(DsrError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    meaning = "The path exists but not with this method; the Allow header lists those it has."


class Conflict(DsrError):
    status, slug, title = 409, "conflict", "Conflict"
    meaning = "The request conflicts with the resource's current state."


class InvalidState(Conflict):
    slug, title = "invalid-state", "Not allowed in the request's current status"
    meaning = "The request's status does not allow this action (e.g. extending a finished one)."


class IdempotencyMismatch(Conflict):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another body"
    meaning = "The Idempotency-Key was already used with a different body."


class Gone(DsrError):
    status, slug, title = 410, "response-purged", "The response is no longer available"
    meaning = ("The response package is past its retention period; the request still "
               "carries its SHA-256.")


class PayloadTooLarge(DsrError):
    status, slug, title = 413, "payload-too-large", "Request body too large"
    meaning = "The request body is larger than the service accepts (DSR_MAX_BODY_BYTES)."


class RangeNotSatisfiable(DsrError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"
    meaning = "The Range asked for lies outside the file; Content-Range gives its size."


class Unprocessable(DsrError):
    status, slug, title = 422, "validation-error", "Invalid request"
    meaning = "A field is missing or invalid; `errors` lists each one by location."


class HeadersTooLarge(DsrError):
    status, slug, title = 431, "headers-too-large", "Request headers too large"
    meaning = "The request's headers together exceed DSR_MAX_HEADER_BYTES."


class NotReady(DsrError):
    status, slug, title = 503, "response-not-ready", "The response cannot be prepared right now"
    meaning = "The response package could not be built just now (a partner unreachable); retry."


def problem_types() -> list[type[DsrError]]:
    """Every problem type this API answers with, in the order of their status codes."""
    found: list[type[DsrError]] = [DsrError]
    pending = list(DsrError.__subclasses__())
    while pending:
        kind = pending.pop(0)
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return sorted(found, key=lambda kind: (kind.status, kind.slug))


def problem_uri(kind: type[DsrError]) -> str:
    return PROBLEM_BASE + kind.slug


class ConnectorError(Exception):
    """A partner call went wrong; ``reason`` is safe to store and show (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ConnectorError):
    """Try again later: the call certainly did not take effect (connection refused, a pool
    timeout). Its subclasses say more: :class:`Throttled` (the partner is pacing us) and
    :class:`MaybeDelivered` (the partner may have applied it). ``retry_after``: the seconds the
    partner asked us to wait, if it said."""

    throttled = False
    maybe_delivered = False

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Throttled(TransientError):
    """A 429: the partner pacing us, not a failure; it does not use up an attempt."""

    throttled = True


class MaybeDelivered(TransientError):
    """The call was sent and no usable answer came (a timeout while waiting, a 5xx to a write):
    the partner may have applied it, so it is polled or recorded as uncertain, never assumed
    undone."""

    maybe_delivered = True


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


def problem_of(exc: DsrError, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = {**exc.headers, **(headers or {})}
    if type(exc) is Unauthorized:  # a bearer token; a webhook signature has no challenge
        headers["WWW-Authenticate"] = "Bearer"
    return problem(exc.status, slug=exc.slug, title=exc.title, detail=exc.detail,
                   headers=headers, **exc.extra)


# -- validation problems -------------------------------------------------------------------------
# pydantic puts the offending input in each error, and sometimes in its message ("Input tag
# '19850412-9803' found using 'type'…") and location (an unknown key of an object). Input may be
# personal data, so only locations made of names the API itself defines, and messages that do
# not repeat the input, leave.

_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_SAFE_MESSAGES = {
    "union_tag_invalid": "is not one of the known values",
    "union_tag_not_found": "is required",
    "extra_forbidden": "is not a field of this body (extra fields are not accepted)",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "enum": "is not one of the known values",
    "literal_error": "is not one of the known values",
}
_MIN_ECHO = 3  # shorter input fragments occur in any message by chance


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return [str(value)] if isinstance(value, int | float) else []


def _safe_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    echoed = any(len(s) >= _MIN_ECHO and s in msg for s in _strings(err.get("input")))
    if kind in _SAFE_MESSAGES:
        return _SAFE_MESSAGES[kind]
    return "is invalid" if echoed else msg


def _safe_loc(loc: tuple[Any, ...], names: frozenset[str]) -> list[str | int]:
    return [part if isinstance(part, int) or part in names or part in _LOCATIONS else "*"
            for part in loc]


def validation_problem(
    errors: list[dict[str, Any]], names: frozenset[str] = frozenset()
) -> JSONResponse:
    """A 422 listing each offending field; ``names`` are the field and value names the API
    defines (every other location part is shown as ``*``)."""
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem_of(MalformedBody("The request body is not valid JSON."))
    fields = [
        {"loc": _safe_loc(tuple(err.get("loc", ())), names), "msg": _safe_message(err),
         "type": str(err.get("type", ""))}
        for err in errors
    ]
    summary = "; ".join(
        f"{'.'.join(str(p) for p in f['loc'][1:] or f['loc'])}: {f['msg']}" for f in fields[:5]
    )
    return problem_of(Unprocessable(summary or "The request is invalid.", errors=fields))


def _schema_names(document: dict[str, Any]) -> frozenset[str]:
    """Every property, parameter and enum value name in the OpenAPI document."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("properties",):
                if isinstance(node.get(key), dict):
                    names.update(node[key])
            for value in node.get("enum", []) if isinstance(node.get("enum"), list) else []:
                names.add(str(value))
            if isinstance(node.get("const"), str):
                names.add(node["const"])
            if node.get("in") in _LOCATIONS and isinstance(node.get("name"), str):
                names.add(node["name"])
                names.add(node["name"].lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return frozenset(names)


# -- HTTP-level errors (routing, body parsing) ------------------------------------------------

_HTTP_KINDS: dict[int, type[DsrError]] = {
    400: MalformedBody,  # FastAPI's own 400 is a body it could not decode (not UTF-8)
    401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed,
    413: PayloadTooLarge, 416: RangeNotSatisfiable, 422: Unprocessable, 431: HeadersTooLarge,
}
_HTTP_DETAILS: dict[int, str] = {
    400: "The request body is not valid JSON.",
    404: "There is nothing at this path.",
    405: "This path does not take this method; Allow lists those it takes.",
}


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods the API documents at this path (every route is in the OpenAPI document)."""
    import re

    patterns = getattr(app.state, "path_methods", None)
    if patterns is None:
        patterns = app.state.path_methods = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
             sorted(method.upper() for method in operations))
            for template, operations in app.openapi()["paths"].items()]
    return sorted({m for pattern, methods in patterns if pattern.match(path) for m in methods})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DsrError)
    async def _dsr_error(_request: Request, exc: DsrError) -> JSONResponse:
        return problem_of(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        names = getattr(request.app.state, "schema_names", None)
        if names is None:
            names = request.app.state.schema_names = _schema_names(request.app.openapi())
        return validation_problem(list(exc.errors()), names)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        kind = _HTTP_KINDS.get(exc.status_code)
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        if kind is not None:
            detail = _HTTP_DETAILS.get(exc.status_code) or (
                exc.detail if isinstance(exc.detail, str) else kind.title)
            return problem_of(kind(detail), headers=headers)
        phrase = HTTPStatus(exc.status_code).phrase
        return problem(
            exc.status_code, slug=phrase.lower().replace(" ", "-"),
            title=phrase[0] + phrase[1:].lower(), detail=f"{phrase}.", headers=headers,
        )


def log_unexpected(exc: BaseException) -> None:
    log.error(
        "unhandled error", extra={"error_type": type(exc).__name__, "frames": safe_frames(exc)}
    )


def internal_error() -> JSONResponse:
    """The answer to anything unexpected (see :mod:`app.middleware`, which catches it)."""
    return problem_of(DsrError(
        "Something went wrong on our side. The request ID identifies it in our logs."))


def safe_frames(exc: BaseException) -> list[str]:
    """Where an exception came from, without its message (which may carry SQL or data)."""
    return [
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ][-12:]
