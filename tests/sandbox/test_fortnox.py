"""Fortnox v3 as the connector meets it: OAuth, ErrorInformation, rate limit, no deletion."""

from __future__ import annotations

import httpx
import pytest

from app.sandbox import SandboxState
from app.sandbox.models import FortnoxCustomer
from app.settings import Settings

FX = "/fortnox"


async def get_token(client: httpx.AsyncClient, settings: Settings) -> str:
    response = await client.post(
        f"{FX}/oauth-v1/token", data={"grant_type": "client_credentials"},
        auth=(settings.fortnox_client_id, settings.fortnox_client_secret.get_secret_value()),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token: str = body["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(state: SandboxState) -> FakeClock:
    fake = FakeClock()
    state.clock = fake
    return fake


async def test_token_needs_the_right_client_credentials(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    wrong = await client.post(f"{FX}/oauth-v1/token", data={"grant_type": "client_credentials"},
                              auth=(settings.fortnox_client_id, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    anonymous = await client.post(f"{FX}/oauth-v1/token",
                                  data={"grant_type": "client_credentials"})
    assert anonymous.status_code == 401
    bad_grant = await client.post(
        f"{FX}/oauth-v1/token", data={"grant_type": "password"},
        auth=(settings.fortnox_client_id, settings.fortnox_client_secret.get_secret_value()),
    )
    assert bad_grant.status_code == 400


async def test_api_needs_a_valid_token(
    client: httpx.AsyncClient, settings: Settings, clock: FakeClock
) -> None:
    missing = await client.get(f"{FX}/3/customers/1001")
    assert missing.status_code == 401
    assert missing.json()["ErrorInformation"]["error"] == 1
    assert missing.json()["ErrorInformation"]["code"] == 2001101
    forged = await client.get(f"{FX}/3/customers/1001", headers=bearer("forged"))
    assert forged.status_code == 401
    token = await get_token(client, settings)
    assert (await client.get(f"{FX}/3/customers/1001", headers=bearer(token))).status_code == 200
    clock.now += 3601
    expired = await client.get(f"{FX}/3/customers/1001", headers=bearer(token))
    assert expired.status_code == 401


async def test_customer_and_invoices(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await get_token(client, settings)
    customer = (await client.get(f"{FX}/3/customers/1002", headers=bearer(token))).json()
    assert customer["Customer"]["CustomerNumber"] == "1002"
    assert customer["Customer"]["OrganisationNumber"] == "19720918-9815"
    assert customer["Customer"]["Active"] is True
    invoices = (await client.get(f"{FX}/3/invoices", params={"customernumber": "1002"},
                                 headers=bearer(token))).json()
    rows = invoices["Invoices"]
    assert invoices["MetaInformation"]["@TotalResources"] == len(rows) == 4
    assert {"DocumentNumber", "InvoiceDate", "DueDate", "Total", "Balance", "Booked",
            "Cancelled"} <= set(rows[0])
    assert any(r["Balance"] > 0 for r in rows) and any(r["Balance"] == 0 for r in rows)
    missing = await client.get(f"{FX}/3/customers/9999", headers=bearer(token))
    assert missing.status_code == 404 and "ErrorInformation" in missing.json()


async def test_put_anonymises_the_card(
    client: httpx.AsyncClient, settings: Settings, state: SandboxState
) -> None:
    token = await get_token(client, settings)
    blank = {"Name": "", "Email": "", "Phone1": "", "Address1": "", "ZipCode": "", "City": "",
             "Active": False}
    response = await client.put(f"{FX}/3/customers/1002", json={"Customer": blank},
                                headers={**bearer(token), "Idempotency-Key": "task-1"})
    assert response.status_code == 200
    assert response.json()["Customer"]["Name"] == ""
    card = state.fortnox_customers["1002"]
    assert card.name == "" and card.email == "" and card.active is False
    unknown = await client.put(f"{FX}/3/customers/1002", json={"Customer": {"Shoe": "42"}},
                               headers=bearer(token))
    assert unknown.status_code == 400 and "ErrorInformation" in unknown.json()
    wrong_type = await client.put(f"{FX}/3/customers/1001", json={"Customer": {"Active": "no"}},
                                  headers=bearer(token))
    assert wrong_type.status_code == 400
    assert state.fortnox_customers["1001"].active is True


async def test_delete_refused_while_invoices_exist(
    client: httpx.AsyncClient, settings: Settings, state: SandboxState
) -> None:
    token = await get_token(client, settings)
    refused = await client.delete(f"{FX}/3/customers/1003", headers=bearer(token))
    assert refused.status_code == 400
    assert refused.json()["ErrorInformation"]["code"] == 2000637
    assert "1003" in state.fortnox_customers

    state.fortnox_customers["1099"] = FortnoxCustomer(
        "1099", "Testperson Utan Fakturor", "", "", "", "", "", "")
    headers = {**bearer(token), "Idempotency-Key": "task-del"}
    deleted = await client.delete(f"{FX}/3/customers/1099", headers=headers)
    assert deleted.status_code == 204 and "1099" not in state.fortnox_customers
    repeat = await client.delete(f"{FX}/3/customers/1099", headers=headers)
    assert repeat.status_code == 204  # the first answer, not a 404
    gone = await client.get(f"{FX}/3/customers/1099", headers=bearer(token))
    assert gone.status_code == 404


async def test_rate_limit_is_25_per_5_seconds_per_token(
    client: httpx.AsyncClient, settings: Settings, clock: FakeClock
) -> None:
    token = await get_token(client, settings)
    for i in range(25):
        clock.now += 0.1
        response = await client.get(f"{FX}/3/customers/1001", headers=bearer(token))
        assert response.status_code == 200, i
    clock.now += 0.1
    throttled = await client.get(f"{FX}/3/customers/1001", headers=bearer(token))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "ErrorInformation" in throttled.json()

    other = await get_token(client, settings)  # the window is per token
    assert (await client.get(f"{FX}/3/invoices", headers=bearer(other))).status_code == 200

    clock.now += 3.0  # the oldest calls have left the sliding window
    assert (await client.get(f"{FX}/3/customers/1001", headers=bearer(token))).status_code == 200


async def test_invoice_list_pages(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await get_token(client, settings)
    seen: list[str] = []
    for page in (1, 2):
        body = (await client.get(f"{FX}/3/invoices", headers=bearer(token), params={
            "customernumber": "1002", "limit": 3, "page": page})).json()
        assert body["MetaInformation"]["@TotalPages"] == 2
        assert body["MetaInformation"]["@CurrentPage"] == page
        seen.extend(inv["DocumentNumber"] for inv in body["Invoices"])
    assert len(seen) == len(set(seen)) == 4
    bad = await client.get(f"{FX}/3/invoices", headers=bearer(token), params={"limit": 501})
    assert bad.status_code == 400
