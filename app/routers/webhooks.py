"""Partner callbacks (``POST /v1/webhooks/{system}``), signed per Standard Webhooks.

Verified against the raw body with each of the partner's ``whsec_`` secrets (several during key
rotation; constant-time compare and the 5-minute tolerance come from the reference
``standardwebhooks`` implementation). A ``webhook-id`` is applied once: a repeat gets ``200`` and
changes nothing. A partner can only report on its own tasks.
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

from app.deps import SettingsDep
from app.errors import BadRequest, InvalidSignature, MalformedBody, NotFound, PermanentError
from app.protocol import signed_header_parameters
from app.schemas import Problem, examples, problem_responses
from app.services import webhooks as service
from app.settings import CALLBACK_SYSTEMS, Settings

router = APIRouter(prefix="/v1/webhooks", tags=["partner webhooks"])
log = logging.getLogger("app.webhooks")

MAX_WEBHOOK_ID = 255


class WebhookAck(BaseModel):
    model_config = examples({"status": "applied",
                             "task_id": "3f0c2a4e-9b1d-4c6e-8f7a-2b5d9e1c0a3f"})

    status: Literal["applied", "duplicate", "ignored"] = Field(
        description="applied: recorded on the task; duplicate: this webhook-id (or the same "
        "outcome) was applied before, nothing changed; ignored: a progress report, a callback "
        "for an earlier round, or for a task that no longer waits (written to the audit trail)")
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
                          "partner's or says nothing the service understands. Final."}
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
        "enum": list(CALLBACK_SYSTEMS)})],
) -> tuple[str, str, dict[str, Any]]:
    """(system, webhook-id, JSON body) of a correctly signed callback, else 404/401/400."""
    if system not in CALLBACK_SYSTEMS:
        raise NotFound("There is no webhook for this system; only partners that answer later "
                       "call back.")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    _verify(settings, system, body, headers)
    webhook_id = headers["webhook-id"]
    if len(webhook_id) > MAX_WEBHOOK_ID:
        raise BadRequest("webhook-id is too long.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedBody("The webhook body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise MalformedBody("The webhook body must be a JSON object.")
    return system, webhook_id, payload


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
