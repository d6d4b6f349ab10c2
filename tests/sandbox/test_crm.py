"""The own register: every endpoint, its erasure rules (nothing kept unlisted, each item with
the last day it is kept), masking and idempotency."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from app.sandbox import SandboxState
from app.sandbox.crm import ACCOUNTING_BASIS, CONTRACT_BASIS, mask
from app.sandbox.erasure import LIMITATION_BASIS, TRAFFIC_BILLING_BASIS, claim_until, due_date
from app.sandbox.seed import LARGE_HISTORY_ROWS

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
    unpaid = [b for b in state.crm["C-1002"].billing if not b.paid]
    assert unpaid  # an unpaid invoice
    body = (await client.post(f"{CRM}/C-1002/erase")).json()
    assert {"contact details (e-mail, phone)", "services"} <= set(body["erased"])
    # the debtor's identity (and where it came from) stays for the claim, at most through
    # the last day it can be pursued: three years from the due date
    claim = claim_until(max(due_date(b) for b in unpaid)).isoformat()
    assert [(r["code"], r["basis_code"], r["until"]) for r in body["retained"]] == [
        ("debtor_identity", "limitation_period", claim),
        ("data_sources", "limitation_period", claim),
        ("accounting_records", "bookkeeping",
         f"{max(b.invoice_date.year for b in state.crm['C-1002'].billing) + 7}-12-31")]
    assert body["retained"][0]["basis"] == LIMITATION_BASIS
    assert body["retained"][2]["basis"] == ACCOUNTING_BASIS
    record = (await client.get(f"{CRM}/C-1002")).json()
    assert record["name"] and record["personnummer"] and record["address"]  # the debtor
    assert record["email"] is None and record["phone"] is None
    assert record["sources"] == ["self", "SPAR"] and record["billing_records"]
    for kind in ("support_tickets", "service_contacts", "ip_log", "credit_checks",
                 "website_visits", "consents", "services"):
        assert record[kind] == [], kind


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
    assert "call history of invoiced and paid periods" in body["erased"]
    left = state.crm["C-1004"].call_history
    # a year's history, evenly spread: what stays is the unbilled months, two at most (the
    # share depends on the day of the month the test runs: 100,114 rows on 6 December)
    assert 0 < len(left) < LARGE_HISTORY_ROWS * 62 // 365
    # the months no invoice has billed yet stay, through the last day their bill's claim
    # can be pursued
    billing = [r for r in body["retained"] if r["code"] == "billing_call_history"]
    assert [(r["basis_code"], r["basis"]) for r in billing] == [
        ("traffic_billing", TRAFFIC_BILLING_BASIS)]
    latest_invoice = max(b.invoice_date for b in state.crm["C-1004"].billing)
    assert left[0].at.date() >= latest_invoice
    record = (await client.get(f"{CRM}/C-1004")).json()
    assert record["call_history_count"] == len(left)


# What an access request shows of each register category, and the retained code that must
# account for it when it is not empty after an erasure (everything else must be erased).
ACCOUNTED_BY = {
    "services": "contract_data", "sources": "data_sources", "billing_records":
    "accounting_records", "installation_orders": "installation_order",
    "support_tickets": "open_support_tickets", "credit_checks": "credit_check",
}
ALWAYS_ERASED = ("consents", "order_ip_log", "service_contacts", "email_log", "ip_log",
                 "website_visits")


def unaccounted(record: dict[str, Any], kept: set[str], identity_code: str) -> list[str]:
    """The categories the record still holds that no retained code accounts for."""
    found = []
    for key, code in ACCOUNTED_BY.items():
        if record[key] and code not in kept:
            found.append(key)
    found += [key for key in ALWAYS_ERASED if record[key]]
    if record["call_history_count"] and "billing_call_history" not in kept:
        found.append("call_history")
    identity = [f for f in ("name", "personnummer", "email", "phone", "address") if record[f]]
    if identity and identity_code not in kept:
        found.append("identity")
    return found


async def test_an_active_customers_erasure_erases_or_lists_every_category(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = (await client.post(f"{CRM}/C-1001/erase")).json()
    record = (await client.get(f"{CRM}/C-1001")).json()
    kept = {r["code"]: r for r in body["retained"]}
    assert unaccounted(record, set(kept), "contract_data") == []
    # nothing is listed that is not there
    assert set(kept) == {"contract_data", "installation_order", "billing_call_history",
                         "data_sources", "accounting_records"}
    # the contract's data is kept because the contract is in force, not by a law, and has no
    # end date yet (it goes under the post-contract rule)
    for code in ("contract_data", "installation_order", "data_sources"):
        assert (kept[code]["basis_code"], kept[code]["until"]) == ("contract_in_force", None)
        assert kept[code]["basis"] == CONTRACT_BASIS
    assert set(body["erased_codes"]) >= {"consents", "order_ip_log", "website_visits",
                                        "email_log", "ip_log", "service_contacts",
                                        "support_tickets", "credit_checks", "call_history"}
    assert record["sources"] == ["self", "SPAR", "call_history"]  # UC went with the check
    assert record["marketing_stopped"] is True  # no marketing starts again
    # calls of the months not yet invoiced stay, through their bill's limitation date
    assert {row.at.month for row in state.crm["C-1001"].call_history} <= {
        (datetime.now(UTC).replace(day=1) - timedelta(days=1)).month, datetime.now(UTC).month}
    assert date.fromisoformat(kept["billing_call_history"]["until"]) > date.today()


async def test_an_open_support_ticket_stays_while_the_contract_runs(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    customer = state.crm["C-1001"]
    customer.support_tickets.append({"ticket_id": "FEL-20990", "status": "open",
                                     "kind": "fault_report", "subject": "Brus i telefonen"})
    body = (await client.post(f"{CRM}/C-1001/erase")).json()
    assert "closed support tickets" in body["erased"]
    assert [t["ticket_id"] for t in customer.support_tickets] == ["FEL-20990"]
    open_ = next(r for r in body["retained"] if r["code"] == "open_support_tickets")
    assert (open_["basis_code"], open_["until"]) == ("contract_in_force", None)


async def test_ended_customers_erasure_erases_or_lists_every_category(
    client: httpx.AsyncClient,
) -> None:
    for customer, identity in (("C-1002", "debtor_identity"), ("C-1003", "none")):
        body = (await client.post(f"{CRM}/{customer}/erase")).json()
        record = (await client.get(f"{CRM}/{customer}")).json()
        kept = {r["code"] for r in body["retained"]}
        assert unaccounted(record, kept, identity) == [], customer
        assert "contract_data" not in kept and record["services"] == []


async def test_deferred_erasure_ends_the_claim_then_the_accounting_records(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await client.post(f"{CRM}/C-1002/erase")
    customer = state.crm["C-1002"]
    claim = claim_until(max(due_date(b) for b in customer.billing if not b.paid))
    bookkeeping = date(max(b.invoice_date.year for b in customer.billing) + 7, 12, 31)

    async def run(day: date, key: str) -> dict[str, Any]:
        response = await client.post(f"{CRM}/C-1002/erase-retained", headers={
            "Sandbox-As-Of": day.isoformat(), "Idempotency-Key": key})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    # on the last day of the claim nothing is due yet
    same = await run(claim, "d-1")
    assert same["erased"] == [] and [r["until"] for r in same["retained"]] == [
        claim.isoformat(), claim.isoformat(), bookkeeping.isoformat()]
    # the day after, the claim is time-barred: the identity kept for it goes; the unpaid
    # invoice itself stays an accounting record through its seven years
    after = await run(claim + timedelta(days=1), "d-2")
    assert "identity kept for an unpaid invoice" in after["erased"]
    assert customer.name is None and customer.personnummer is None and customer.address is None
    assert customer.sources == []
    assert [(r["code"], r["until"]) for r in after["retained"]] == [
        ("accounting_records", bookkeeping.isoformat())]
    # and from 1 January after the seventh year every record goes, the unpaid one too
    last = await run(bookkeeping + timedelta(days=1), "d-3")
    assert last["retained"] == [] and customer.billing == []


async def test_deferred_erasure_of_the_billing_calls_runs_the_day_after_their_date(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = (await client.post(f"{CRM}/C-1001/erase")).json()
    until = date.fromisoformat(next(
        r["until"] for r in body["retained"] if r["code"] == "billing_call_history"))
    customer = state.crm["C-1001"]
    kept = len(customer.call_history)
    # on the item's last day the latest month's calls are still kept (an earlier month's
    # bill may have run out before: the item's date is that of the last one)
    same = (await client.post(f"{CRM}/C-1001/erase-retained",
                              headers={"Sandbox-As-Of": until.isoformat()})).json()
    assert 0 < len(customer.call_history) <= kept
    first = same["retained"][0]
    assert (first["code"], first["until"]) == ("billing_call_history", until.isoformat())
    after = (await client.post(f"{CRM}/C-1001/erase-retained", headers={
        "Sandbox-As-Of": (until + timedelta(days=1)).isoformat()})).json()
    assert customer.call_history == [] and "call_history" in after["erased_codes"]
    assert "call_history" not in customer.sources
    assert [r["code"] for r in after["retained"]] == ["accounting_records"]
