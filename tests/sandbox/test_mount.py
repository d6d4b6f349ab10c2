"""The sandbox mounted under /sandbox, as the service and ``dsr sandbox`` serve it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.sandbox import SandboxState, create_sandbox_app, create_standalone_app

from .conftest import make_settings


async def test_mounted_paths() -> None:
    service = FastAPI()
    sandbox = create_sandbox_app(make_settings())
    service.mount("/sandbox", sandbox)
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        assert (await http.get("/sandbox/crm/customers/C-1001")).status_code == 200
        assert (await http.get("/sandbox/fortnox/3/invoices")).status_code == 401
        assert (await http.get("/sandbox/eniro/requests/x")).status_code == 404
    state: SandboxState = sandbox.state.sandbox
    await state.close()


async def test_standalone_app_uses_the_same_paths() -> None:
    app = create_standalone_app(make_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sb") as http:
        record = await http.get("/sandbox/crm/customers/C-1003")
        assert record.status_code == 200 and record.json()["locked"] is True
    await app.state.sandbox.close()


async def test_each_app_has_its_own_fresh_state() -> None:
    first, second = create_sandbox_app(make_settings()), create_sandbox_app(make_settings())
    del first.state.sandbox.crm["C-1001"]
    assert "C-1001" in second.state.sandbox.crm
