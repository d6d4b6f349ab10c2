"""The problem details every error of this API is answered with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import PROBLEM_BASE, problem_types

PROBLEM_TYPE_URIS = tuple(PROBLEM_BASE + kind.slug for kind in problem_types())
PROBLEM_TYPES_TABLE = "\n".join(
    f"| {kind.status} | `{PROBLEM_BASE}{kind.slug}` | {kind.meaning} |"
    for kind in problem_types())


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="where: body/query/path/header, then field names (`*` for a name the API "
        "does not define, which is never echoed)")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. missing, string_too_long")


class Problem(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "description": "RFC 9457 problem details, as every error of this API is answered. "
                       "`type` is one of:\n\n| status | type | meaning |\n|---|---|---|\n"
                       + PROBLEM_TYPES_TABLE,
        "examples": [{"type": PROBLEM_BASE + "invalid-state",
                      "title": "Not allowed in the request's current status", "status": 409,
                      "detail": "Cannot extend a request that is completed."}]})

    type: str = Field(description="the problem type's URI",
                      json_schema_extra={"enum": list(PROBLEM_TYPE_URIS)})
    title: str
    status: int
    detail: str = Field(description="written for the caller; never echoes input")
    errors: list[FieldError] | None = Field(
        default=None, description="for validation problems: each offending field"
    )


_PROBLEM_TEXT = {
    400: "Malformed request: a body that is not UTF-8 JSON (`malformed-json`), or a cursor "
         "this service did not issue (`invalid-cursor`)",
    401: "Missing, expired or invalid bearer token",
    403: "The caller's role may not do this",
    404: "No such request (or not the caller's)",
    409: "Not allowed in the request's current status, or Idempotency-Key reused",
    413: "Request body too large",
    422: "Validation failed; `errors` lists the fields",
    431: "Request headers too large",
    503: "The database cannot be reached just now (`database-unavailable`); retry after "
         "Retry-After seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer"}}}


def problem_responses(*codes: int, database: bool = True) -> dict[int | str, dict[str, Any]]:
    """The problem responses of an operation; 431 (headers too large) goes with every one, and
    503 (the database out of reach) with every one that uses the database."""
    return {
        code: {
            "model": Problem, "description": _PROBLEM_TEXT[code],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
            **({"headers": _RETRY_AFTER} if code == 503 else {}),
        }
        for code in sorted({*codes, 431, *((503,) if database else ())})
    }
