"""Injected faults: parsing the spec, and each kind's effect on real calls."""

from __future__ import annotations

import random

import httpx
import pytest

from app.sandbox import SandboxState, create_sandbox_app, parse_faults

from .conftest import Receiver, dsr_request, make_settings


def test_parse_faults() -> None:
    faults = parse_faults(" fortnox:throttle=0.3, stadsnat:lost_callback=0.2,eniro:error=1 ")
    assert faults.rate("fortnox", "throttle") == 0.3
    assert faults.rate("stadsnat", "lost_callback") == 0.2
    assert faults.rate("eniro", "error") == 1.0
    assert faults.rate("crm", "error") == 0.0
    assert parse_faults("").rates == {}


@pytest.mark.parametrize(("spec", "needle"), [
    ("fortnox", "expected system:kind=rate"),
    ("fortnox:throttle", "expected system:kind=rate"),
    ("fortnox=0.3", "expected system:kind=rate"),
    ("bank:error=0.1", "unknown system 'bank'"),
    ("crm:explode=0.1", "unknown kind 'explode'"),
    ("crm:error=lots", "rate must be a number"),
    ("crm:error=1.5", "rate must be from 0 to 1"),
    ("crm:error=-0.1", "rate must be from 0 to 1"),
    ("crm:error=0.1,crm:error=0.2", "given twice"),
])
def test_parse_faults_rejects_bad_specs(spec: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_faults(spec)


def test_bad_spec_in_settings_stops_the_sandbox() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        create_sandbox_app(make_settings(sandbox_faults="crm:melt=0.5"))


async def test_error_fault(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults = parse_faults("crm:error=1")
    response = await client.get("/crm/customers/C-1001")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    state.faults = parse_faults("")
    assert (await client.get("/crm/customers/C-1001")).status_code == 200


async def test_error_fault_changes_nothing(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults = parse_faults("crm:error=1")
    assert (await client.post("/crm/customers/C-1001/erase")).status_code == 500
    assert state.crm["C-1001"].order_ip_log


async def test_throttle_fault(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults = parse_faults("fortnox:throttle=1")
    response = await client.post("/fortnox/oauth-v1/token",
                                 data={"grant_type": "client_credentials"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert "ErrorInformation" in response.json()


async def test_timeout_fault(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults = parse_faults("stadsnat:timeout=1")
    state.timeout_fault_s = 0.05  # 30 s by default: longer than any client waits
    response = await client.get("/stadsnat/requests/anything")
    assert response.status_code == 504


async def test_lost_callback_still_completes(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    state.faults = parse_faults("stadsnat:lost_callback=1")
    response = await client.post("/stadsnat/requests", json=dsr_request(
        "task-lost", "erasure", "SN-440017", "stadsnat"))
    assert response.status_code == 202
    await state.drain()
    assert receiver.attempts == []
    status = (await client.get("/stadsnat/requests/task-lost")).json()
    assert status["request_status"] == "completed"
    assert status["result"]["outcome"] == "retained"


async def test_rates_are_probabilities_with_a_seedable_rng(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults = parse_faults("eniro:error=0.5")

    async def errors() -> list[int]:
        return [(await client.get("/eniro/requests/x")).status_code for _ in range(200)]

    state.rng = random.Random(7)
    first = await errors()
    state.rng = random.Random(7)
    assert await errors() == first  # deterministic for a given seed
    failed = first.count(500)
    assert 60 < failed < 140 and first.count(404) == 200 - failed


async def test_faults_only_hit_their_system(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults = parse_faults("eniro:error=1")
    assert (await client.get("/crm/customers/C-1001")).status_code == 200
    assert (await client.get("/snpac/requests/x")).status_code == 404
