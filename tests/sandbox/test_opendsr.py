"""The asynchronous partners: accept, work, record the result and call back, signed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.sandbox import SandboxState, create_sandbox_app
from app.sandbox.crm import CONTRACT_BASIS
from app.sandbox.snpac import PORTABILITY_BASIS

from .conftest import Receiver, dsr_request, make_settings


async def submit(client: httpx.AsyncClient, system: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/{system}/requests", json=body)


async def run(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver, system: str,
    request_type: str, link: str, *, suffix: str = "", **extensions: Any,
) -> dict[str, Any]:
    """Submit one request, let the job finish, and return the verified callback's result."""
    request_id = f"task-{system}-{request_type}-{link}{suffix}"
    response = await submit(client, system, dsr_request(request_id, request_type, link, system,
                                                        **extensions))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["subject_request_id"] == request_id
    assert accepted["controller_id"] == "connect2ip"
    assert accepted["request_status"] == "pending"
    await state.drain()
    payloads = [p for p in receiver.payloads(system) if p["subject_request_id"] == request_id]
    assert len(payloads) == 1
    assert payloads[0]["request_status"] == "completed"
    result: dict[str, Any] = payloads[0]["result"]
    return result


@pytest.mark.parametrize(("system", "link", "key"), [
    ("stadsnat", "SN-440017", "connection"),
    ("snpac", "+46470123456", "porting_record"),
    ("eniro", "HIT-7K2P9Q", "listing"),
])
async def test_access_returns_the_data(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver, system: str,
    link: str, key: str,
) -> None:
    result = await run(client, state, receiver, system, "access", link)
    assert result["outcome"] == "done"
    assert key in result["data"]


@pytest.mark.parametrize("system", ["stadsnat", "snpac", "eniro"])
async def test_unknown_subject_is_no_data(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver, system: str,
) -> None:
    result = await run(client, state, receiver, system, "erasure", "UNKNOWN-1")
    assert result["outcome"] == "no_data" and "data" not in result


async def test_stadsnat_erasure(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    active = await run(client, state, receiver, "stadsnat", "erasure", "SN-440017")
    assert active["outcome"] == "retained"
    assert active["retained"] == [{"category": "connection address and service/port",
                                   "basis": CONTRACT_BASIS, "until": None,
                                   "code": "connection_address",
                                   "basis_code": "contract_in_force"}]
    assert state.stadsnat["SN-440017"].activation_history == []
    assert state.stadsnat["SN-440017"].address is not None
    ended = await run(client, state, receiver, "stadsnat", "erasure", "SN-440233")
    assert ended["outcome"] == "done" and "SN-440233" not in state.stadsnat


async def test_stadsnat_rectification_updates_only_held_fields(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    changes = {"address": "Kungsgatan 7", "name": "Someone Else"}
    result = await run(client, state, receiver, "stadsnat", "rectification", "SN-440017",
                       rectification={"changes": changes})
    assert result["outcome"] == "done"
    address = state.stadsnat["SN-440017"].address
    assert address is not None and address.street == "Kungsgatan 7"
    assert "Someone Else" not in result["summary"]


async def test_restriction_marks_the_record(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    result = await run(client, state, receiver, "stadsnat", "restriction", "SN-440017",
                       restriction={"grounds": "accuracy_contested"})
    assert result["outcome"] == "done" and state.stadsnat["SN-440017"].restricted


async def test_snpac_erasure_retains_active_number(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    result = await run(client, state, receiver, "snpac", "erasure", "+46470123456")
    assert result["outcome"] == "retained"
    assert result["retained"][0]["basis"] == PORTABILITY_BASIS
    assert result["retained"][0]["until"] is None
    assert "+46470123456" in state.snpac


async def test_snpac_number_porting_authorises_the_receiving_operators_port(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    result = await run(client, state, receiver, "snpac", "portability", "+46470123456",
                       number_porting={"receiving_operator": "Telia"})
    assert result["outcome"] == "done" and "Telia" in result["summary"]
    assert "authorised" in result["summary"]
    booked = state.snpac["+46470123456"].booked_port
    assert booked is not None and booked["to_operator"] == "Telia"
    assert booked["authorised_by"] == "donor"
    assert booked["date"] in result["summary"]
    assert "+46470123456" not in result["summary"]
    # a second, different port is refused: the pending one is never silently replaced
    other = await run(client, state, receiver, "snpac", "portability", "+46470123456",
                      suffix=".1", number_porting={"receiving_operator": "Tele2"})
    assert other["outcome"] == "refused" and other["reason"] == "port_pending"
    assert state.snpac["+46470123456"].booked_port["to_operator"] == "Telia"
    unknown = await run(client, state, receiver, "snpac", "portability", "+46470123456",
                        suffix=".2", number_porting={"receiving_operator": "Hittepå Tele AB"})
    assert unknown["outcome"] == "refused" and unknown["reason"] == "unknown_operator"


async def test_eniro_unlists(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    objection = await run(client, state, receiver, "eniro", "objection", "HIT-7K2P9Q",
                          objection={"processing": "direct_marketing"})
    assert objection["outcome"] == "done" and state.eniro["HIT-7K2P9Q"].listed is False
    erasure = await run(client, state, receiver, "eniro", "erasure", "HIT-7K2P9Q")
    assert erasure["outcome"] == "done" and "HIT-7K2P9Q" not in state.eniro


async def test_eniro_rectification(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    await run(client, state, receiver, "eniro", "rectification", "HIT-7K2P9Q",
              rectification={"changes": {"name": "Astrid Exempelsson Berg", "email": "x"}})
    assert state.eniro["HIT-7K2P9Q"].name == "Astrid Exempelsson Berg"


async def test_repeat_post_is_idempotent(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    body = dsr_request("task-once", "erasure", "HIT-7K2P9Q", "eniro")
    first = await submit(client, "eniro", body)
    second = await submit(client, "eniro", body)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    await state.drain()
    await submit(client, "eniro", body)
    await state.drain()
    assert len(receiver.payloads("eniro")) == 1  # one job, one callback


async def test_status_endpoint(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    state.delay_ms = 50
    await submit(client, "snpac", dsr_request("task-st", "access", "+46470123456", "snpac"))
    early = (await client.get("/snpac/requests/task-st")).json()
    assert early["request_status"] in ("pending", "in_progress") and "result" not in early
    await state.drain()
    done = (await client.get("/snpac/requests/task-st")).json()
    assert done["request_status"] == "completed" and done["result"]["outcome"] == "done"
    unknown = await client.get("/snpac/requests/never-sent")
    assert unknown.status_code == 404
    other_system = await client.get("/eniro/requests/task-st")
    assert other_system.status_code == 404


@pytest.mark.parametrize("mutate", [
    lambda b: b.pop("subject_request_id"),
    lambda b: b.update(subject_request_type="delete_everything"),
    lambda b: b.update(subject_identities=[]),
    lambda b: b.update(status_callback_urls=["ftp://x"]),
    lambda b: b.update(submitted_time="yesterday"),
    lambda b: b.update(subject_request_type="rectification"),  # without changes
    lambda b: b.update(extensions={"number_porting": {}}),
])
async def test_invalid_body_is_400(client: httpx.AsyncClient, mutate: Any) -> None:
    body = dsr_request("task-bad", "access", "SN-440017", "stadsnat")
    mutate(body)
    response = await submit(client, "stadsnat", body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request" and response.json()["message"]
    assert "SN-440017" not in response.text
    not_json = await client.post("/stadsnat/requests", content=b"{", headers={
        "content-type": "application/json"})
    assert not_json.status_code == 400


async def test_callback_retried_after_5xx_and_unreachable(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    receiver.script = [503, httpx.ConnectError("refused"), 200]
    await run(client, state, receiver, "stadsnat", "access", "SN-440017")
    assert len(receiver.attempts) == 3
    ids = {request.headers["webhook-id"] for request in receiver.attempts}
    assert len(ids) == 1 and ids.pop().startswith("msg_")
    assert state.jobs[("stadsnat", "task-stadsnat-access-SN-440017")].callback_status == 200


async def test_callback_not_retried_after_4xx(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver
) -> None:
    receiver.script = [401]
    await submit(client, "eniro", dsr_request("task-4xx", "access", "HIT-7K2P9Q", "eniro"))
    await state.drain()
    assert len(receiver.attempts) == 1
    assert state.jobs[("eniro", "task-4xx")].callback_status == 401


async def test_callback_signed_with_first_configured_secret() -> None:
    first, second = "whsec_" + "A" * 43 + "=", "whsec_" + "B" * 43 + "="
    settings = make_settings(eniro_webhook_secret=SecretStr(f"{first} {second}"))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    callbacks = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = create_sandbox_app(settings, client=callbacks)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        await submit(http, "eniro", dsr_request("task-rot", "access", "HIT-7K2P9Q", "eniro"))
        await app.state.sandbox.drain()
    await app.state.sandbox.close()
    await callbacks.aclose()
    assert len(seen) == 1
    headers = dict(seen[0].headers)
    assert Webhook(first).verify(seen[0].content, headers)["subject_request_id"] == "task-rot"
    with pytest.raises(WebhookVerificationError):
        Webhook(second).verify(seen[0].content, headers)
