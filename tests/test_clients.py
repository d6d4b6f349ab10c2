"""The generated Python client (clients/python): fresh, and it walks both flows end to end.

It is generated from openapi/openapi.json alone, so a flow that works here works for a team
that knows only the document. The download goes through it too (a zip, with its SHA-256).
"""

from __future__ import annotations

import filecmp
import hashlib
import io
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.connectors import base
from app.services.dispatch import Dispatcher
from tests.conftest import ROOT
from tests.responses.conftest import access_behaviours, connectors

CLIENT = ROOT / "clients" / "python"
sys.path.insert(0, str(CLIENT))

from connect2ip_dsr_client import AuthenticatedClient  # noqa: E402
from connect2ip_dsr_client.api.requests import (  # noqa: E402
    create_request,
    extend_request,
    get_request,
    list_events,
    list_requests,
    verify_request,
)
from connect2ip_dsr_client.api.responses import check_response, download_response  # noqa: E402
from connect2ip_dsr_client.models import (  # noqa: E402
    AccessCreate,
    AgentChannel,
    ErasureCreate,
    EventAction,
    ExtendBody,
    IdentityMethod,
    Problem,
    RequestOut,
    RequestStatus,
    System,
    VerifyBody,
)
from connect2ip_dsr_client.types import File  # noqa: E402


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_committed_client_is_what_the_generator_makes(tmp_path: Path) -> None:
    out = tmp_path / "python"
    subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path",
         str(ROOT / "openapi" / "openapi.json"), "--meta", "setup", "--config",
         str(ROOT / "clients" / "python-client.yaml"), "--output-path", str(out),
         "--fail-on-warning"],
        check=True, capture_output=True, cwd=tmp_path)
    assert _tree(out) == _tree(CLIENT), "clients/python is stale: run `make clients`"
    stale = [name for name in sorted(_tree(out))
             if not filecmp.cmp(out / name, CLIENT / name, shallow=False)]
    assert not stale, f"clients/python is stale ({stale[:3]}…): run `make clients`"


@pytest.fixture
async def as_role(app, auth) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    """``as_role("agent")``: the generated client, speaking to the app in-process."""
    opened: list[httpx.AsyncClient] = []

    def make(role: str, customer: str | None = None) -> AuthenticatedClient:
        client = AuthenticatedClient(base_url="http://dsr.test", token="unused",
                                     raise_on_unexpected_status=True)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dsr.test", headers=auth(role, customer))
        opened.append(http)
        client.set_async_httpx_client(http)
        return client

    yield make
    for http in opened:
        await http.aclose()


async def _run(app) -> None:  # type: ignore[no-untyped-def]
    made = connectors(**access_behaviours(),
                      stadsnat=lambda call: base.done("Erased.", None))
    await Dispatcher(app.state.settings, app.state.sessionmaker, made).run_until_idle()
    app.state.connectors = made


async def test_the_portal_flow(app, as_role) -> None:  # type: ignore[no-untyped-def]
    portal = as_role("portal", "C-1001")
    created = await create_request.asyncio(
        client=portal, body=AccessCreate(type_="access"),
        idempotency_key="portal-7f3a1c")
    assert isinstance(created, RequestOut)
    assert created.status is RequestStatus.IN_PROGRESS and created.customer_number == "C-1001"
    again = await create_request.asyncio(
        client=portal, body=AccessCreate(type_="access"),
        idempotency_key="portal-7f3a1c")
    assert isinstance(again, RequestOut) and again.id == created.id
    await _run(app)
    done = await get_request.asyncio(client=portal, request_id=created.id)
    assert isinstance(done, RequestOut) and done.status is RequestStatus.COMPLETED
    assert {t.system for t in done.tasks} == {System.CRM}
    answer = await download_response.asyncio(client=portal, request_id=created.id)
    assert isinstance(answer, File)
    body = answer.payload.read()
    shown = await get_request.asyncio(client=portal, request_id=created.id)
    assert hashlib.sha256(body).hexdigest() == shown.response.sha256  # type: ignore[union-attr]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    part = await download_response.asyncio(client=portal, request_id=created.id,
                                           range_="bytes=0-9")
    assert isinstance(part, File) and part.payload.read() == body[:10]
    head = await check_response.asyncio_detailed(client=portal, request_id=created.id)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body))
    other = as_role("portal", "C-1002")
    missing = await get_request.asyncio(client=other, request_id=created.id)
    assert isinstance(missing, Problem) and missing.status == 404


async def test_the_agent_flow(app, as_role) -> None:  # type: ignore[no-untyped-def]
    agent = as_role("agent")
    created = await create_request.asyncio(client=agent, body=ErasureCreate(
        type_="erasure", customer_number="C-1001", channel=AgentChannel.PHONE))
    assert isinstance(created, RequestOut)
    assert created.status is RequestStatus.AWAITING_VERIFICATION
    listed = await list_requests.asyncio(client=agent, status=RequestStatus.AWAITING_VERIFICATION)
    assert [r.id for r in listed.items] == [created.id]  # type: ignore[union-attr]
    verified = await verify_request.asyncio(client=agent, request_id=created.id,
                                            body=VerifyBody(method=IdentityMethod.BANKID))
    assert isinstance(verified, RequestOut) and verified.status is RequestStatus.IN_PROGRESS
    extended = await extend_request.asyncio(client=agent, request_id=created.id, body=ExtendBody(
        months=1, reason="Data held by several partners"))
    assert isinstance(extended, RequestOut) and extended.extended_months == 1
    conflict = await extend_request.asyncio(client=agent, request_id=created.id, body=ExtendBody(
        months=2, reason="More"))
    assert isinstance(conflict, Problem) and conflict.status == 409
    await _run(app)
    events = await list_events.asyncio(client=agent, request_id=created.id)
    actions = [e.action for e in events.events]  # type: ignore[union-attr]
    assert actions[:3] == [EventAction.CREATED, EventAction.VERIFIED, EventAction.EXTENDED]
    assert events.chain_intact  # type: ignore[union-attr]
    answer = await download_response.asyncio(client=agent, request_id=created.id)
    assert isinstance(answer, File)
    assert "result.json" in zipfile.ZipFile(answer.payload).namelist()
