"""The own register: every endpoint, its erasure rules, masking and idempotency."""

from __future__ import annotations

import time
from typing import Any

import httpx

from app.sandbox import SandboxState
from app.sandbox.crm import ACCOUNTING_BASIS, CONTRACT_BASIS, mask

CRM = "/crm/customers"


async def test_customer_record(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{CRM}/C-1001")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_number"] == "C-1001"
    assert body["contract"]["status"] == "active"
    assert body["address"]["city"] == "Växjö"
    assert body["call_history_count"] == 50
    assert {s["service_id"] for s in body["services"]} >= {"SN-440017"}
    assert {"purpose": "marketing", "given": True}.items() <= body["consents"][0].items()
    assert body["sources"] == ["self", "SPAR", "UC", "call_history"]
    assert len(body["order_ip_log"]) == 2
    assert body["restricted"] is False and body["marketing_stopped"] is False


async def test_locked_customer_and_unknown(client: httpx.AsyncClient) -> None:
    locked = (await client.get(f"{CRM}/C-1003")).json()
    assert locked["contract"]["status"] == "ended" and locked["locked"] is True
    assert (await client.get(f"{CRM}/C-1002")).json()["locked"] is False
    missing = await client.get(f"{CRM}/C-9999")
    assert missing.status_code == 404 and missing.json() == {"error": "not_found"}


async def test_call_history_pages_with_cursor(client: httpx.AsyncClient) -> None:
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 20}
    pages = 0
    while True:
        body = (await client.get(f"{CRM}/C-1001/call-history", params=params)).json()
        seen.extend(body["items"])
        pages += 1
        if body["next"] is None:
            break
        params = {"limit": 20, "after": body["next"]}
    assert pages == 3 and len(seen) == 50
    assert len({row["id"] for row in seen}) == 50
    assert [row["at"] for row in seen] == sorted(row["at"] for row in seen)
    whole = (await client.get(f"{CRM}/C-1001/call-history", params={"limit": 1000})).json()
    assert len(whole["items"]) == 50 and whole["next"] is None


async def test_call_history_rejects_bad_paging(client: httpx.AsyncClient) -> None:
    too_many = await client.get(f"{CRM}/C-1001/call-history", params={"limit": 1001})
    assert too_many.status_code == 400 and too_many.json()["error"] == "invalid_request"
    bad_cursor = await client.get(f"{CRM}/C-1001/call-history", params={"after": "nope"})
    assert bad_cursor.status_code == 400
    empty = (await client.get(f"{CRM}/C-1002/call-history")).json()
    assert empty == {"items": [], "next": None}


async def test_export_provided(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{CRM}/C-1001/export", params={"scope": "provided"})).json()
    datasets = body["datasets"]
    assert set(datasets) == {"customer", "services", "consents"}
    assert datasets["customer"][0]["customer_number"] == "C-1001"
    assert datasets["customer"][0]["city"] == "Växjö"
    assert len(datasets["services"]) == 2 and len(datasets["consents"]) == 3
    wrong = await client.get(f"{CRM}/C-1001/export", params={"scope": "everything"})
    assert wrong.status_code == 400


async def test_rectification_masks_previous_values(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    old_email = state.crm["C-1001"].email
    response = await client.patch(
        f"{CRM}/C-1001", json={"changes": {"email": "ny.adress@example.com", "city": "Alvesta"}},
        headers={"Idempotency-Key": "task-rect-1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == ["city", "email"]
    assert body["previous_masked"] == {"email": "a***@e***.se", "city": "V***"}
    assert old_email is not None and old_email not in response.text
    customer = state.crm["C-1001"]
    assert customer.email == "ny.adress@example.com"
    assert customer.address is not None and customer.address.city == "Alvesta"


async def test_rectification_refuses_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{CRM}/C-1001", json={"changes": {"personnummer": "x"}})
    assert response.status_code == 400
    response = await client.patch(f"{CRM}/C-1001", json={"nothing": 1})
    assert response.status_code == 400 and "changes" in response.json()["message"]


def test_mask_never_reveals_the_value() -> None:
    assert mask("email", "astrid.exempelsson@example.se") == "a***@e***.se"
    assert mask("name", "Astrid Exempelsson") == "A*** E***"
    assert mask("phone", "+46470123456") == "***56"


async def test_erasure_of_active_customer_keeps_contract_data(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    response = await client.post(f"{CRM}/C-1001/erase", headers={"Idempotency-Key": "t-1"})
    assert response.status_code == 200
    body = response.json()
    assert {"consents", "order IP log"} <= set(body["erased"])
    contract = [r for r in body["retained"] if r["basis"] == CONTRACT_BASIS]
    assert contract and all(r["until"] is None for r in contract)
    accounting = [r for r in body["retained"] if r["basis"] == ACCOUNTING_BASIS]
    assert len(accounting) == 1 and accounting[0]["until"].endswith("-12-31")
    customer = state.crm["C-1001"]
    assert customer.name is not None and customer.address is not None
    assert customer.order_ip_log == [] and customer.consents == []
    assert len(customer.call_history) < 50


async def test_erasure_of_ended_customer_with_a_debt_keeps_the_claim_and_accounting(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    assert any(not b.paid for b in state.crm["C-1002"].billing)  # an unpaid invoice
    body = (await client.post(f"{CRM}/C-1002/erase")).json()
    assert {"contact details (e-mail, phone)", "services"} <= set(body["erased"])
    assert [(r["code"], r["basis_code"]) for r in body["retained"]] == [
        ("debtor_identity", "legal_claim"), ("accounting_records", "bookkeeping")]
    assert body["retained"][1]["basis"] == ACCOUNTING_BASIS
    latest = max(b.invoice_date.year for b in state.crm["C-1002"].billing)
    assert body["retained"][1]["until"] == f"{latest + 7}-12-31"
    assert body["retained"][0]["until"] is None  # until it is paid
    record = (await client.get(f"{CRM}/C-1002")).json()
    assert record["name"] and record["personnummer"] and record["address"]  # the debtor
    assert record["email"] is None and record["phone"] is None
    assert record["billing_records"]


async def test_erasure_of_ended_customer_without_debts_keeps_only_accounting(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    for record in state.crm["C-1002"].billing:
        record.paid = True
    body = (await client.post(f"{CRM}/C-1002/erase")).json()
    assert {"identity and contact details", "address", "services"} <= set(body["erased"])
    assert [r["basis"] for r in body["retained"]] == [ACCOUNTING_BASIS]
    record = (await client.get(f"{CRM}/C-1002")).json()
    assert record["name"] is None and record["personnummer"] is None
    assert record["email"] is None and record["address"] is None


async def test_same_idempotency_key_returns_first_answer_once(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post(f"{CRM}/C-1002/erase", headers={"Idempotency-Key": "t-9"})
    again = await client.post(f"{CRM}/C-1002/erase", headers={"Idempotency-Key": "t-9"})
    assert again.json() == first.json() and first.json()["erased"]
    other_key = await client.post(f"{CRM}/C-1002/erase", headers={"Idempotency-Key": "t-10"})
    assert other_key.json()["erased"] == []  # applied once: nothing left to erase


async def test_restriction(client: httpx.AsyncClient, state: SandboxState) -> None:
    response = await client.post(f"{CRM}/C-1001/restrict",
                                 json={"grounds": "accuracy_contested"})
    assert response.status_code == 200
    body = response.json()
    assert body["restricted"] is True and body["since"].endswith("Z")
    assert state.crm["C-1001"].restriction_grounds == "accuracy_contested"
    again = (await client.post(f"{CRM}/C-1001/restrict")).json()
    assert again["since"] == body["since"]
    assert (await client.get(f"{CRM}/C-1001")).json()["restricted"] is True


async def test_marketing_objection_withdraws_consent(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{CRM}/C-1001/marketing-objection")
    assert response.json() == {"marketing": "stopped", "consent_withdrawn": True}
    record = (await client.get(f"{CRM}/C-1001")).json()
    assert record["marketing_stopped"] is True
    marketing = [c for c in record["consents"] if c["purpose"] == "marketing"]
    assert marketing and marketing[0]["given"] is False


async def test_delay_applies_to_answers(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.delay_ms = 150
    started = time.monotonic()
    assert (await client.get(f"{CRM}/C-1001")).status_code == 200
    assert time.monotonic() - started >= 0.14


async def test_api_key_required_when_configured(receiver: Any) -> None:
    from app.sandbox import create_sandbox_app

    from .conftest import make_settings

    app = create_sandbox_app(make_settings(crm_api_key="crm-key-123"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        assert (await http.get(f"{CRM}/C-1001")).status_code == 401
        ok = await http.get(f"{CRM}/C-1001", headers={"Authorization": "Bearer crm-key-123"})
        assert ok.status_code == 200
    await app.state.sandbox.close()


async def test_a_million_call_records_page_on_the_fly(client: httpx.AsyncClient) -> None:
    record = (await client.get(f"{CRM}/C-1004")).json()
    assert record["call_history_count"] == 1_000_000 and record["contract"]["status"] == "active"
    first = (await client.get(f"{CRM}/C-1004/call-history", params={"limit": 1000})).json()
    assert len(first["items"]) == 1000 and first["next"] == "CH-1004-0001000"
    second = (await client.get(f"{CRM}/C-1004/call-history",
                               params={"limit": 1000, "after": first["next"]})).json()
    assert second["items"][0]["id"] == "CH-1004-0001001"
    assert first["items"][-1]["at"] <= second["items"][0]["at"]
    last = (await client.get(f"{CRM}/C-1004/call-history",
                             params={"limit": 5, "after": "CH-1004-0999995"})).json()
    assert [r["id"] for r in last["items"]][-1] == "CH-1004-1000000" and last["next"] is None
    bad = await client.get(f"{CRM}/C-1004/call-history", params={"after": "CH-1001-0000001"})
    assert bad.status_code == 400


async def test_erasure_of_the_large_history_keeps_the_billing_month(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = (await client.post(f"{CRM}/C-1004/erase")).json()
    assert "call history beyond billing needs" in body["erased"]
    left = state.crm["C-1004"].call_history
    assert 0 < len(left) < 100_000
    record = (await client.get(f"{CRM}/C-1004")).json()
    assert record["call_history_count"] == len(left)
