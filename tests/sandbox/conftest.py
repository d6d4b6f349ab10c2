"""Fixtures for the sandbox tests: a sandbox app, a client for it, and a callback receiver.

The receiver stands in for the service's webhook endpoint: it verifies every delivery's
Standard Webhooks signature with the secret the service would use, and can be told to fail
the first attempts so the sandbox's retries are exercised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook

from app.sandbox import SandboxState, create_sandbox_app
from app.settings import Settings

SERVICE = "http://service.test"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"sandbox_delay_ms": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Receiver:
    """A fake service webhook endpoint that checks signatures like the real one must."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.script: list[int | Exception] = []  # answers for the next attempts, then 204
        self.attempts: list[httpx.Request] = []
        self.delivered: list[tuple[str, dict[str, Any]]] = []  # (system, verified payload)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request)
        step = self.script.pop(0) if self.script else 204
        if isinstance(step, Exception):
            raise step
        if step < 300:
            system = request.url.path.rsplit("/", 1)[-1]
            secret = self.settings.webhook_secrets(system)[0]
            payload = Webhook(secret).verify(request.content, dict(request.headers))
            self.delivered.append((system, payload))
        return httpx.Response(step)

    def payloads(self, system: str) -> list[dict[str, Any]]:
        return [payload for sys, payload in self.delivered if sys == system]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def receiver(settings: Settings) -> Receiver:
    return Receiver(settings)


@pytest.fixture
async def sandbox_app(settings: Settings, receiver: Receiver) -> AsyncIterator[FastAPI]:
    callbacks = httpx.AsyncClient(transport=httpx.MockTransport(receiver.handle))
    app = create_sandbox_app(settings, client=callbacks)
    state: SandboxState = app.state.sandbox
    state.callback_backoff_s = 0.0
    state.rng.seed(20261129)
    try:
        yield app
    finally:
        await state.close()
        await callbacks.aclose()


@pytest.fixture
def state(sandbox_app: FastAPI) -> SandboxState:
    sandbox: SandboxState = sandbox_app.state.sandbox
    return sandbox


@pytest.fixture
async def client(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


def dsr_request(
    request_id: str, request_type: str, link: str, system: str, **extensions: Any
) -> dict[str, Any]:
    """An OpenDSR request body as the connectors send it."""
    return {
        "subject_request_id": request_id,
        "subject_request_type": request_type,
        "submitted_time": "2026-11-29T10:00:00Z",
        "subject_identities": [{"identity_type": "controller_customer_id",
                                "identity_value": link, "identity_format": "raw"}],
        "status_callback_urls": [f"{SERVICE}/v1/webhooks/{system}"],
        "extensions": extensions,
    }
