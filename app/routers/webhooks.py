"""Partner callbacks (``POST /v1/webhooks/{system}``), signed per Standard Webhooks.

Verified against the raw body with each of the partner's ``whsec_`` secrets (several during key
rotation; constant-time compare and the 5-minute tolerance come from the reference
``standardwebhooks`` implementation). A ``webhook-id`` is applied once: a repeat gets ``200`` and
changes nothing. A partner can only report on its own tasks.

A signed body is still a partner's input: one nested deeper than :data:`MAX_JSON_DEPTH` (30,000
``[`` made the parser recurse until it crashed) or holding a NUL anywhere (PostgreSQL stores
none in text or JSON) is a ``400`` naming where, before anything is recorded, so the partner can
send it again, corrected, with the same ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.connectors.base import MAX_JSON_DEPTH
from app.connectors.capabilities import CallsBack
from app.deps import SettingsDep
from app.errors import BadRequest, InvalidSignature, MalformedBody, NotFound, PermanentError
from app.partners import callback_systems
from app.protocol import (
    PartnerCallback,
    PartnerResult,
    PartnerRetained,
    SubjectIdentity,
    signed_header_parameters,
)
from app.schemas import Problem, examples, problem_responses
from app.services import webhooks as service
from app.settings import Settings

router = APIRouter(prefix="/v1/webhooks", tags=["partner webhooks"])
log = logging.getLogger("app.webhooks")

MAX_WEBHOOK_ID = 255
# Names a problem may show in a path: the protocol's own (a partner's data keys are "*").
_NAMES = frozenset().union(*(model.model_fields for model in (
    PartnerCallback, PartnerResult, PartnerRetained, SubjectIdentity)))


class WebhookAck(BaseModel):
    model_config = examples({"status": "applied",
                             "task_id": "3f0c2a4e-9b1d-4c6e-8f7a-2b5d9e1c0a3f"})

    status: Literal["applied", "duplicate", "ignored"] = Field(
        description="applied: recorded on the task; duplicate: this webhook-id (or the same "
        "outcome) was applied before, nothing changed; ignored: not applied, nothing changed "
        "(the callback is written to the audit trail): a progress report, a callback for an "
        "earlier round, for a task or round not (yet) sent to this partner, or for a task that "
        "no longer waits")
    task_id: uuid.UUID | None = None


def _documented() -> dict[str, Any]:
    """The signed body and headers, which are read raw (the signature covers the bytes), so
    FastAPI cannot derive them from the signature of :func:`receive`."""
    return {
        "parameters": signed_header_parameters(),
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PartnerCallback"}}}},
    }


_WEBHOOK_PROBLEMS = problem_responses(400, 404, 413, 422)
_WEBHOOK_PROBLEMS[401] = {
    "model": Problem, "description": "`invalid-signature`: the signature is missing or wrong, "
    "or webhook-timestamp is more than 5 minutes off. Check the secret and the clock; do not "
    "resend unchanged.",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_WEBHOOK_PROBLEMS[400] = {**_WEBHOOK_PROBLEMS[400], "description": "`malformed-json`: not "
                          "a JSON object; `bad-request`: a body that names no task of this "
                          "partner's or says nothing the service understands, one nested "
                          f"deeper than {MAX_JSON_DEPTH} levels, or one with a NUL character "
                          "(U+0000) in any key or string (`errors` names where). Nothing was "
                          "recorded: resending it unchanged will not help; corrected, it may "
                          "keep its webhook-id."}
_WEBHOOK_PROBLEMS[404] = {**_WEBHOOK_PROBLEMS[404], "description": "No such system, or no "
                          "task of this partner's with that subject_request_id. Final."}


def _verify(settings: Settings, system: str, body: bytes, headers: dict[str, str]) -> Any:
    secrets = settings.webhook_secrets(system)
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers, json_parse=False) or True
        except Exception:  # noqa: S112 - any failure with this secret: try the next
            continue
    raise InvalidSignature(
        "The webhook signature is missing, wrong or outside the 5-minute window.")


async def verified_body(
    request: Request, settings: SettingsDep,
    system: Annotated[str, Path(max_length=32, json_schema_extra={
        "enum": list(callback_systems())})],
) -> tuple[str, str, dict[str, Any]]:
    """(system, webhook-id, JSON body) of a correctly signed callback, else 404/401/400."""
    if system not in callback_systems():
        raise NotFound("There is no webhook for this system; only partners that answer later "
                       "call back.")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    _verify(settings, system, body, headers)
    webhook_id = headers["webhook-id"]
    if len(webhook_id) > MAX_WEBHOOK_ID:
        raise BadRequest("webhook-id is too long.")
    if not webhook_id.isprintable():
        raise BadRequest("webhook-id may not contain control characters.")
    try:
        payload = json.loads(body)
    except RecursionError:  # the C parser gives up on deep nesting before it finds an error
        raise _too_deep() from None
    except ValueError:
        raise MalformedBody("The webhook body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise MalformedBody("The webhook body must be a JSON object.")
    _check_storable(payload)
    return system, webhook_id, payload


def _too_deep() -> BadRequest:
    return BadRequest(f"The webhook body is nested deeper than {MAX_JSON_DEPTH} levels; "
                      "nothing was applied.")


def _check_storable(payload: dict[str, Any]) -> None:
    """Refuse a body nested deeper than :data:`MAX_JSON_DEPTH` or holding a NUL in any key or
    string, naming the first such place by the protocol's field names (never echoing the
    partner's own keys or text). Iterative, so no depth can make it recurse."""
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(payload, (), 1)]
    while stack:
        value, loc, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _nul(loc)
            continue
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            if any("\x00" in key for key in value):
                raise _nul(loc)
            stack.extend((item, (*loc, key if key in _NAMES else "*"), depth + 1)
                         for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, (*loc, n), depth + 1)
                         for n, item in reversed(list(enumerate(value))))


def _nul(loc: tuple[str | int, ...]) -> BadRequest:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    where = where.removeprefix(".") or "the body"
    return BadRequest(
        f"{where} contains a NUL character (U+0000), which the service cannot store; nothing "
        "was applied. Send it again without.",
        errors=[{"loc": ["body", *loc], "msg": "must not contain NUL characters",
                 "type": "value_error"}])


@router.post(
    "/{system}", response_model=WebhookAck, responses=_WEBHOOK_PROBLEMS,
    summary="A partner reports how a task went (Standard Webhooks signature)",
    operation_id="receivePartnerCallback", openapi_extra=_documented(),
    description="The callback of the `partnerRequest` the service sent. Signed with this "
    "system's `whsec_` secret (`DSR_<SYSTEM>_WEBHOOK_SECRET`, handed to the partner out of "
    "band): `webhook-signature: v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}"
    ".{body}\">`. Any 2xx is final; 5xx or no answer: send again with the same `webhook-id` "
    "(re-signed); a 4xx is final too, resending it unchanged will not help.",
)
async def receive(
    request: Request,
    verified: Annotated[tuple[str, str, dict[str, Any]], Depends(verified_body)],
) -> WebhookAck:
    system, webhook_id, payload = verified
    connector = request.app.state.connectors[system]
    if not isinstance(connector, CallsBack):  # pragma: no cover - the registry's own list
        raise NotFound("There is no webhook for this system.")
    try:
        task_id, dispatch_round, outcome = connector.parse_callback(payload)
    except PermanentError as exc:
        raise BadRequest(f"The callback could not be understood: {exc.reason}") from None
    vault = request.app.state.vault

    async def work(session: AsyncSession) -> tuple[str, uuid.UUID | None]:
        return await service.apply_callback(
            session, system=system, webhook_id=webhook_id, task_id=task_id,
            dispatch_round=dispatch_round, outcome=outcome, vault=vault)

    # written with the other outcomes arriving now, in one transaction (services.recorder)
    status, applied_to = await request.app.state.recorder.write(task_id, work)
    log.info("webhook", extra={"system": system, "task_id": str(task_id), "result": status})
    return WebhookAck(status=status, task_id=applied_to)
