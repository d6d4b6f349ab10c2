"""The problem types: one exception class per situation a caller is told apart, each with
the status, slug, title and meaning the OpenAPI document publishes; and the connectors' errors.
"""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://dsr.connect2ip.se/problems/"


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


class DatabaseUnavailable(DsrError):
    status, slug, title = 503, "database-unavailable", "The database cannot be reached"
    meaning = ("The service cannot reach its database just now (a restart, a network fault); "
               "retry after the seconds Retry-After gives.")


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
