"""HTTP helpers the simulated partners share: error bodies, body parsing, auth, idempotency.

Each partner has its own error dialect (Fortnox wraps errors in ``ErrorInformation``, the
others answer ``{"error", "message"}``), and the sandbox must speak each faithfully, so every
refusal goes through :func:`error_response`. Handlers raise :class:`Answer` to stop with a
finished response from anywhere, dependencies included.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from app.settings import Settings

M = TypeVar("M", bound=BaseModel)


class PartnerState(Protocol):
    """What these helpers read of the sandbox's state (``SandboxState`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def idempotency(self) -> dict[tuple[str, str], tuple[int, Any]]: ...

# Fortnox's numeric error codes for the few errors the sandbox produces.
FORTNOX_CODES = {
    "internal_error": 2000000, "timeout": 2000000, "rate_limited": 2000001,
    "unauthorized": 2001101, "not_found": 2000433, "invalid_request": 2000588,
    "has_invoices": 2000637, "retention_period": 2000720,
}


class Answer(Exception):
    """Stop handling and send this response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def error_response(system: str, status: int, error: str, message: str) -> JSONResponse:
    """An error in the partner's own dialect (never carrying personal data)."""
    if system == "fortnox":
        body: dict[str, Any] = {"ErrorInformation": {
            "error": 1, "message": message, "code": FORTNOX_CODES.get(error, 2000000),
        }}
    else:
        body = {"error": error, "message": message}
    return JSONResponse(body, status_code=status)


async def read_model(
    request: Request, model: type[M], system: str, *, empty_ok: bool = False
) -> M:
    """The JSON body validated against ``model``; ``400`` (not FastAPI's 422) when it is not.

    The message names the fields at fault but never echoes the values, which may be personal.
    ``empty_ok`` lets a call whose body is all optional be sent without one.
    """
    raw = await request.body()
    if empty_ok and not raw.strip():
        raw = b"{}"
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        raise Answer(
            error_response(system, 400, "invalid_request", "The body is not valid JSON.")
        ) from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise Answer(error_response(system, 400, "invalid_request", problems)) from None


def api_key_check(
    state: PartnerState, system: str
) -> Callable[[Request], Awaitable[None]]:
    """A dependency requiring ``Authorization: Bearer <key>`` when a key is configured.

    Without a configured key (the local default) the partner is open, as the connectors then
    send no credentials either.
    """

    async def dependency(request: Request) -> None:
        expected = state.settings.api_key(system)
        if expected is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Answer(error_response(system, 401, "unauthorized", "A valid API key is needed."))

    return dependency


def idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key") or None


def replay(state: PartnerState, system: str, request: Request) -> Response | None:
    """The stored answer to a repeated ``Idempotency-Key``, or None for a new key."""
    key = idempotency_key(request)
    if key is None:
        return None
    stored = state.idempotency.get((system, key))
    if stored is None:
        return None
    status, body = stored
    if body is None:
        return Response(status_code=status)
    return JSONResponse(body, status_code=status)


def remember(
    state: PartnerState, system: str, request: Request, status: int, body: Any
) -> Response:
    """Send an answer, and keep it as the answer to any repeat of this call's key."""
    key = idempotency_key(request)
    if key is not None:
        state.idempotency[(system, key)] = (status, body)
    if body is None:
        return Response(status_code=status)
    return JSONResponse(body, status_code=status)


def as_of(request: Request) -> date:
    """The date the caller acts as of: ``Sandbox-As-Of`` (sent only by ``dsr retention run
    --as-of`` outside production, so time can be simulated), else today (UTC)."""
    value = request.headers.get("sandbox-as-of")
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Answer(JSONResponse({"error": "invalid_request",
                                       "message": "Sandbox-As-Of must be YYYY-MM-DD"},
                                      status_code=400)) from None
    return datetime.now(UTC).date()
