"""The one mapping from errors to ``application/problem+json`` (RFC 9457), for domain errors,
validation errors and HTTP-level ones (routing, body parsing).

Error bodies carry a ``detail`` written for the caller and never an exception message, SQL or
personal data; unexpected exceptions are logged by type and traceback frames only, because
their messages may hold SQL parameters.
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

from app.db_outage import database_unreachable
from app.errors.kinds import (
    PROBLEM_BASE,
    PROBLEM_JSON,
    DatabaseUnavailable,
    DsrError,
    Forbidden,
    HeadersTooLarge,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    Unauthorized,
    Unprocessable,
)
from app.logging import request_id_var

log = logging.getLogger("app.errors")


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


# -- the database out of reach ------------------------------------------------------------------
# Whatever app.db_outage.database_unreachable recognises is answered 503 with Retry-After, not
# 500: nothing is wrong with the request, and the pool reconnects (pre-ping) once the database
# is back.

DATABASE_RETRY_AFTER_S = 5
def database_unavailable(exc: BaseException) -> JSONResponse:
    """The answer while the database cannot be reached: logged as one line (the request ID
    and the error's type, never its message, which may hold SQL), answered 503."""
    log.warning("database unreachable", extra={"request_id": request_id_var.get(),
                                               "error_type": type(exc).__name__})
    return problem_of(DatabaseUnavailable(
        "The database cannot be reached just now; nothing is wrong with the request. Try "
        "again after the seconds Retry-After gives."),
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


def unexpected_error(exc: BaseException) -> JSONResponse:
    """The answer to an exception no handler took: 503 if the database is out of reach,
    else 500; either way logged without the exception's message."""
    if database_unreachable(exc):
        return database_unavailable(exc)
    log_unexpected(exc)
    return internal_error()


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
