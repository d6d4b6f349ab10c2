"""The Fortnox connector: OAuth2 tokens, erasure with retained invoices, the deferred erasure
(each invoice after its seven years, the debtor's identity once the claim is time-barred),
errors by code."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from app.connectors.base import Connector
from app.connectors.capabilities import CallsBack
from app.connectors.fortnox import (
    ANONYMISED_CARD,
    BFL_BASIS,
    CLAIM_BASIS,
    claim_until,
    retention_until,
)
from app.errors import PermanentError
from app.models import RequestType, TaskStatus
from app.settings import Settings
from tests.connectors.conftest import MakeCall, url

CARD = {
    "CustomerNumber": "1001", "Name": "Astrid Exempelsson", "Email": "astrid@example.se",
    "Phone1": "+46470123456", "Address1": "Storgatan 12 A", "ZipCode": "352 31",
    "City": "Växjö", "OrganisationNumber": "19850412-9803", "Active": True,
}


def invoice(number: str, day: str, balance: float = 0.0, due: str | None = None) -> dict[str, Any]:
    return {
        "DocumentNumber": number, "CustomerNumber": "1001", "InvoiceDate": day,
        "DueDate": due or day,
        "Total": 399.0,
        "Balance": balance, "Booked": True, "Cancelled": False,
    }


def invoices(*items: dict[str, Any]) -> dict[str, Any]:
    return {"Invoices": list(items), "MetaInformation": {"@TotalPages": 1, "@CurrentPage": 1}}


@pytest.fixture
def fortnox(connectors: dict[str, Connector]) -> Connector:
    return connectors["fortnox"]


@pytest.fixture
def api(settings: Settings) -> str:
    return url(settings, "fortnox")


@pytest.fixture
def token(api: str, respx_mock: respx.MockRouter) -> respx.Route:
    return respx_mock.post(api + "/oauth-v1/token").respond(
        200, json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}
    )


async def test_token_uses_client_credentials_and_is_cached(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter, settings: Settings,
) -> None:
    card = respx_mock.get(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices())
    await fortnox.execute(make_call("fortnox", "export"))
    await fortnox.execute(make_call("fortnox", "export"))

    assert token.call_count == 1
    request = token.calls.last.request
    secret = settings.fortnox_client_secret.get_secret_value()
    expected = base64.b64encode(f"{settings.fortnox_client_id}:{secret}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.content == b"grant_type=client_credentials"
    assert card.calls.last.request.headers["Authorization"] == "Bearer tok-1"


async def test_token_near_expiry_is_fetched_again(
    fortnox: Connector, make_call: MakeCall, api: str, respx_mock: respx.MockRouter
) -> None:
    token = respx_mock.post(api + "/oauth-v1/token").respond(
        200, json={"access_token": "short", "expires_in": 30}
    )
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices())
    respx_mock.delete(api + "/3/customers/1001").respond(204)
    await fortnox.execute(make_call("fortnox", "erase"))
    assert token.call_count == 2  # 30 s is inside the refresh margin: never reused


async def test_a_401_refreshes_the_token_once_and_retries(
    fortnox: Connector, make_call: MakeCall, api: str, respx_mock: respx.MockRouter
) -> None:
    token = respx_mock.post(api + "/oauth-v1/token").mock(side_effect=[
        httpx.Response(200, json={"access_token": "old", "expires_in": 3600}),
        httpx.Response(200, json={"access_token": "new", "expires_in": 3600}),
    ])
    expired = {"ErrorInformation": {"error": 1, "message": "Invalid token", "code": 2001101}}
    card = respx_mock.get(api + "/3/customers/1001").mock(side_effect=[
        httpx.Response(401, json=expired), httpx.Response(200, json={"Customer": CARD}),
    ])
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices())
    outcome = await fortnox.execute(make_call("fortnox", "export"))
    assert outcome.status is TaskStatus.done
    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in card.calls] == ["Bearer old", "Bearer new"]


async def test_a_second_401_is_permanent(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/customers/1001").respond(401, json={})
    with pytest.raises(PermanentError, match="401"):
        await fortnox.execute(make_call("fortnox", "export"))
    assert token.call_count == 2


async def test_refused_client_credentials_are_permanent(
    fortnox: Connector, make_call: MakeCall, api: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(api + "/oauth-v1/token").respond(401, json={"error": "invalid_client"})
    with pytest.raises(PermanentError, match="client credentials"):
        await fortnox.execute(make_call("fortnox", "export"))


async def test_export_returns_card_and_invoices_in_data(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    listed = respx_mock.get(api + "/3/invoices").respond(
        200, json=invoices(invoice("5101", "2026-09-01"))
    )
    outcome = await fortnox.execute(make_call("fortnox", "export"))
    assert outcome.status is TaskStatus.done
    assert outcome.data == {"customer_card": CARD, "invoices": [invoice("5101", "2026-09-01")]}
    assert listed.calls.last.request.url.params["customernumber"] == "1001"
    assert "Astrid" not in outcome.summary


async def test_export_follows_invoice_pages(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    listed = respx_mock.get(api + "/3/invoices").mock(side_effect=[
        httpx.Response(200, json={"Invoices": [invoice("1", "2025-01-01")],
                                  "MetaInformation": {"@TotalPages": 2, "@CurrentPage": 1}}),
        httpx.Response(200, json={"Invoices": [invoice("2", "2025-02-01")],
                                  "MetaInformation": {"@TotalPages": 2, "@CurrentPage": 2}}),
    ])
    outcome = await fortnox.execute(make_call("fortnox", "export"))
    assert outcome.data is not None
    assert [i["DocumentNumber"] for i in outcome.data["invoices"]] == ["1", "2"]
    assert listed.calls[1].request.url.params["page"] == "2"


async def test_export_of_unknown_customer_is_no_data(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/customers/1001").respond(
        404, json={"ErrorInformation": {"error": 1, "message": "Kan inte hitta kunden",
                                        "code": 2000433}}
    )
    # the card and the invoices are asked for at once; Fortnox lists none for an unknown number
    respx_mock.get(api + "/3/invoices").respond(
        200, json={"Invoices": [], "MetaInformation": {"@TotalPages": 1, "@CurrentPage": 1}}
    )
    outcome = await fortnox.execute(make_call("fortnox", "export"))
    assert outcome.status is TaskStatus.no_data


async def test_erase_without_invoices_deletes_the_card(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices())
    deleted = respx_mock.delete(api + "/3/customers/1001").respond(204)
    call = make_call("fortnox", "erase", request_type=RequestType.erasure)
    outcome = await fortnox.execute(call)
    assert outcome.status is TaskStatus.done
    assert deleted.calls.last.request.headers["Idempotency-Key"] == str(call.task_id)


async def test_erase_of_unknown_customer_is_no_data(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices())
    respx_mock.delete(api + "/3/customers/1001").respond(404, json={})
    outcome = await fortnox.execute(make_call("fortnox", "erase"))
    assert outcome.status is TaskStatus.no_data


async def test_erase_with_invoices_anonymises_and_retains_them(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices(
        invoice("5101", "2025-11-01"), invoice("5102", "2026-01-01"),
        invoice("5103", "2026-02-01", balance=399.0),
    ))
    put = respx_mock.put(api + "/3/customers/1001").respond(
        200, json={"Customer": {**CARD, **ANONYMISED_CARD}}
    )
    outcome = await fortnox.execute(make_call("fortnox", "erase"))

    # an invoice is unpaid: a legal claim, so the debtor's identity stays on the card, but
    # only while the claim can be pursued: through three years after its due date
    assert json.loads(put.calls.last.request.content) == {"Customer": {
        "Email": "", "Phone1": "", "Active": False}}
    assert outcome.status is TaskStatus.retained
    assert [r.as_dict() for r in outcome.retained] == [
        {"category": "invoices", "basis": BFL_BASIS, "until": "2033-12-31", "code": "invoices",
         "basis_code": "bookkeeping"},
        {"category": "debtor identity on the customer card (unpaid invoice)",
         "basis": CLAIM_BASIS, "until": "2029-02-01", "code": "debtor_identity",
         "basis_code": "limitation_period"},
    ]
    assert "3 invoices" in outcome.summary and outcome.code == "fortnox_claim_kept"
    assert outcome.params["claim_until"] == "2029-02-01"


async def test_erase_with_paid_invoices_only_anonymises_the_card(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices(
        invoice("5101", "2025-11-01"), invoice("5102", "2026-01-01")))
    put = respx_mock.put(api + "/3/customers/1001").respond(
        200, json={"Customer": {**CARD, **ANONYMISED_CARD}})
    outcome = await fortnox.execute(make_call("fortnox", "erase"))
    assert json.loads(put.calls.last.request.content) == {"Customer": ANONYMISED_CARD}
    assert [r.code for r in outcome.retained] == ["invoices"]


async def test_erase_falls_back_to_anonymising_when_delete_finds_invoices(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").mock(side_effect=[
        httpx.Response(200, json=invoices()),
        httpx.Response(200, json=invoices(invoice("5101", "2024-12-31"))),
    ])
    respx_mock.delete(api + "/3/customers/1001").respond(400, json={"ErrorInformation": {
        "error": 1, "message": "Kunden har fakturor", "code": 2000637,
    }})
    respx_mock.put(api + "/3/customers/1001").respond(200, json={"Customer": ANONYMISED_CARD})
    outcome = await fortnox.execute(make_call("fortnox", "erase"))
    assert outcome.status is TaskStatus.retained
    assert outcome.retained[0].until == "2031-12-31"


def test_retention_is_seven_years_after_the_invoice_year() -> None:
    # the LAST day kept: the deferred erasure runs the day after (1 January)
    assert retention_until(2026) == "2033-12-31"
    assert retention_until(2019) == "2026-12-31"


def test_a_consumer_claim_is_kept_through_three_years_after_its_due_date() -> None:
    assert claim_until(date(2026, 10, 31)) == "2029-10-31"
    assert claim_until(date(2028, 2, 29)) == "2031-02-28"  # no 29 February that year


def deferred(make_call: MakeCall, as_of: date, *untils: str) -> Any:
    items = [{"category": "x", "basis": "y", "until": until} for until in untils]
    return dataclasses.replace(make_call("fortnox", "erase_retained"), as_of=as_of,
                               params={"items": items})


async def test_deferred_erasure_ends_the_claim_then_keeps_the_invoices_to_their_date(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices(
        invoice("4870", "2026-07-01"), invoice("4873", "2026-10-01", 449.0, "2026-10-31")))
    put = respx_mock.put(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    delete = respx_mock.delete(url__regex=api + r"/3/.*").respond(204)
    outcome = await fortnox.execute(
        deferred(make_call, date(2029, 11, 1), "2029-10-31", "2033-12-31"))

    # the unpaid invoice is time-barred: the identity kept for it goes; every invoice stays
    # under Bokföringslagen through 31 December 2033
    assert not delete.called
    assert json.loads(put.calls.last.request.content) == {"Customer": ANONYMISED_CARD}
    assert put.calls.last.request.headers["Idempotency-Key"].endswith(":card-anonymised")
    assert outcome.status is TaskStatus.retained
    assert [(r.code, r.basis_code, r.until) for r in outcome.retained] == [
        ("invoices", "bookkeeping", "2033-12-31")]


async def test_deferred_erasure_keeps_a_claim_that_can_still_be_pursued(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices(
        invoice("3990", "2019-05-01"), invoice("4873", "2026-10-01", 449.0, "2026-10-31")))
    put = respx_mock.put(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    delete = respx_mock.delete(api + "/3/invoices/3990").respond(204)
    outcome = await fortnox.execute(deferred(make_call, date(2027, 1, 1), "2026-12-31"))

    assert delete.called and not put.called  # the old paid invoice goes; the debtor stays
    assert [(r.code, r.basis_code, r.until) for r in outcome.retained] == [
        ("invoices", "bookkeeping", "2033-12-31"),
        ("debtor_identity", "limitation_period", "2029-10-31")]


async def test_deferred_erasure_deletes_a_time_barred_unpaid_invoice_after_its_seven_years(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(api + "/3/invoices").respond(200, json=invoices(
        invoice("4870", "2026-07-01"), invoice("4873", "2026-10-01", 449.0, "2026-10-31")))
    deleted = respx_mock.delete(url__regex=api + r"/3/.*").respond(204)
    outcome = await fortnox.execute(deferred(make_call, date(2034, 1, 1), "2033-12-31"))

    assert sorted(str(c.request.url).rsplit("/3/", 1)[1] for c in deleted.calls) == [
        "customers/1001", "invoices/4870", "invoices/4873"]
    assert outcome.status is TaskStatus.done and outcome.code == "fortnox_deferred_all"


async def test_rectify_maps_fields_onto_the_card(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    put = respx_mock.put(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    call = make_call(
        "fortnox", "rectify", request_type=RequestType.rectification,
        changes={"email": "ny@example.se", "postal_code": "352 30"},
    )
    outcome = await fortnox.execute(call)
    assert json.loads(put.calls.last.request.content) == {
        "Customer": {"Email": "ny@example.se", "ZipCode": "352 30"}
    }
    assert outcome.status is TaskStatus.done
    assert outcome.summary == "Rectified on the Fortnox customer card: email, postal_code."


async def test_rectify_without_a_fortnox_field_fails(
    fortnox: Connector, make_call: MakeCall
) -> None:
    with pytest.raises(PermanentError):
        await fortnox.execute(make_call("fortnox", "rectify", changes={"shoe_size": "42"}))


async def test_restrict_marks_the_card_inactive(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    put = respx_mock.put(api + "/3/customers/1001").respond(200, json={"Customer": CARD})
    outcome = await fortnox.execute(make_call("fortnox", "restrict"))
    assert json.loads(put.calls.last.request.content) == {"Customer": {"Active": False}}
    assert outcome.status is TaskStatus.done
    assert "no restriction flag" in outcome.summary and "inactive" in outcome.summary


async def test_error_information_gives_the_code_never_the_message(
    fortnox: Connector, make_call: MakeCall, api: str, token: respx.Route,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.put(api + "/3/customers/1001").respond(400, json={"ErrorInformation": {
        "error": 1, "message": "Ogiltig e-post astrid@example.se", "code": 2000359,
    }})
    with pytest.raises(PermanentError) as caught:
        await fortnox.execute(make_call("fortnox", "restrict"))
    assert "2000359" in caught.value.reason
    assert "astrid" not in caught.value.reason


async def test_no_callbacks(fortnox: Connector, make_call: MakeCall) -> None:
    assert await fortnox.poll(make_call("fortnox", "erase")) is None
    assert not isinstance(fortnox, CallsBack)  # it answers at once
