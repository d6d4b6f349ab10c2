"""Signed callbacks from the asynchronous partners to the service (Standard Webhooks).

A delivery is one ``webhook-id`` re-sent with a fresh timestamp and signature until the service
answers below 500, as real webhook senders do: ``5xx`` and unreachable are retried with a
doubling backoff, a ``4xx`` is final (the service has refused it; resending will not help).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from app.sandbox.state import SandboxState
from app.settings import dev_webhook_secret

log = logging.getLogger("app.sandbox.callbacks")


def signing_secret(state: SandboxState, system: str) -> str:
    """The first configured secret signs; the service accepts any of them while rotating."""
    secrets = state.settings.webhook_secrets(system)
    return secrets[0] if secrets else dev_webhook_secret(system)


def signed_headers(secret: str, msg_id: str, body: str, when: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


async def deliver(
    state: SandboxState, system: str, url: str, payload: dict[str, Any]
) -> int | None:
    """Send one callback; the service's final status code, or None if it never answered."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    msg_id = f"msg_{uuid.uuid4().hex}"
    secret = signing_secret(state, system)
    ref = payload.get("subject_request_id")
    for attempt in range(1, state.callback_attempts + 1):
        headers = signed_headers(secret, msg_id, body, datetime.now(UTC))
        status: int | None = None
        try:
            response = await state.http().post(url, content=body.encode(), headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            log.warning("sandbox callback not delivered", extra={
                "system": system, "subject_request_id": ref, "attempt": attempt,
                "error_type": type(exc).__name__,
            })
        if status is not None and status < 500:
            log.info("sandbox callback delivered", extra={
                "system": system, "subject_request_id": ref, "attempt": attempt,
                "status_code": status,
            })
            return status
        if status is not None:
            log.warning("sandbox callback refused", extra={
                "system": system, "subject_request_id": ref, "attempt": attempt,
                "status_code": status,
            })
        if attempt < state.callback_attempts:
            await asyncio.sleep(state.callback_backoff_s * 2 ** (attempt - 1))
    log.error("sandbox callback abandoned", extra={"system": system, "subject_request_id": ref})
    return None
