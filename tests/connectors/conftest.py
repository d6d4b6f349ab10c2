"""Fixtures for the connector tests: settings without a .env, one HTTP client, calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.connectors.base import Call, Connector
from app.connectors.registry import build_connectors
from app.models import RequestType
from app.settings import Settings

MakeCall = Callable[..., Call]
LINKS = {
    "crm": "C-1001", "fortnox": "1001", "stadsnat": "SN-440017", "snpac": "+46470123456",
    "eniro": "HIT-7K2P9Q", "installer": "ORD-88001",
}


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def connectors(settings: Settings, client: httpx.AsyncClient) -> dict[str, Connector]:
    return build_connectors(settings, client)


def url(settings: Settings, system: str, path: str = "") -> str:
    return settings.partner_url(system) + path


@pytest.fixture
def make_call() -> MakeCall:
    def make(
        system: str, action: str, *, request_type: RequestType = RequestType.access,
        link: str | None = None, changes: dict[str, str] | None = None,
        options: dict[str, Any] | None = None, external_ref: str | None = None,
    ) -> Call:
        return Call(
            task_id=uuid.uuid4(), request_id=uuid.uuid4(), request_type=request_type,
            action=action, link=link or LINKS[system],
            callback_url=f"http://127.0.0.1:8000/v1/webhooks/{system}",
            changes=changes or {}, options=options or {}, external_ref=external_ref,
        )

    return make
