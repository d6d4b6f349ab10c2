"""Partner callbacks (``POST /v1/webhooks/{system}``), signed per Standard Webhooks.

Verified against the raw body with each of the partner's ``whsec_`` secrets (several during key
rotation; constant-time compare and the 5-minute tolerance come from the reference
``standardwebhooks`` implementation). A ``webhook-id`` is applied once: a repeat gets ``200`` and
changes nothing. A partner can only report on its own tasks.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel
from standardwebhooks.webhooks import Webhook

from app.deps import SessionDep, SettingsDep
from app.errors import BadRequest, NotFound, PermanentError, Unauthorized
from app.schemas import problem_responses
from app.services import webhooks as service
from app.settings import CALLBACK_SYSTEMS, Settings

router = APIRouter(prefix="/v1/webhooks", tags=["partner webhooks"])
log = logging.getLogger("app.webhooks")

MAX_WEBHOOK_ID = 255


class WebhookAck(BaseModel):
    status: str  # "applied" | "duplicate" | "ignored"
    task_id: str | None = None


def _verify(settings: Settings, system: str, body: bytes, headers: dict[str, str]) -> Any:
    secrets = settings.webhook_secrets(system)
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers, json_parse=False) or True
        except Exception:  # noqa: S112 - any failure with this secret: try the next
            continue
    raise Unauthorized("The webhook signature is missing, wrong or outside the 5-minute window.")


async def verified_body(
    request: Request, settings: SettingsDep,
    system: Annotated[str, Path(max_length=32)],
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
        raise BadRequest("The webhook body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequest("The webhook body must be a JSON object.")
    return system, webhook_id, payload


@router.post(
    "/{system}", response_model=WebhookAck,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="A partner reports how a task went (Standard Webhooks signature)",
)
async def receive(
    request: Request, session: SessionDep,
    verified: Annotated[tuple[str, str, dict[str, Any]], Depends(verified_body)],
) -> WebhookAck:
    system, webhook_id, payload = verified
    connector = request.app.state.connectors[system]
    try:
        task_id, dispatch_round, outcome = connector.parse_callback(payload)
    except PermanentError as exc:
        raise BadRequest(f"The callback could not be understood: {exc.reason}") from None
    status, applied_to = await service.apply_callback(
        session, system=system, webhook_id=webhook_id, task_id=task_id,
        dispatch_round=dispatch_round, outcome=outcome, vault=request.app.state.vault,
    )
    log.info("webhook", extra={"system": system, "task_id": str(task_id), "result": status})
    return WebhookAck(status=status, task_id=str(applied_to) if applied_to else None)
