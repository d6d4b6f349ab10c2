"""The own register's connector: every action and outcome, against a mocked register."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
import respx

from app.connectors.base import Connector
from app.connectors.capabilities import CallsBack
from app.errors import PermanentError
from app.models import RequestType, TaskStatus
from app.settings import Settings
from tests.connectors.conftest import MakeCall, url

RECORD = {
    "customer_number": "C-1001", "name": "Astrid Exempelsson", "personnummer": "19850412-9803",
    "email": "astrid.exempelsson@example.se", "phone": "+46470123456",
    "address": {"street": "Storgatan 12 A", "postal_code": "352 31", "city": "Växjö"},
    "contract": {"status": "active", "started_at": "2021-03-15T09:00:00Z", "ended_at": None},
    "services": [{"service_id": "SN-440017", "kind": "fibre", "since": "2021-03-15"}],
    "consents": [{"purpose": "marketing", "given": True, "at": "2021-03-15"}],
    "sources": ["self", "SPAR", "UC", "call_history"],
    "order_ip_log": [{"ip": "192.0.2.41", "at": "2026-11-29T05:00:00Z"}],
    "call_history_count": 3, "restricted": False, "marketing_stopped": False,
}
PERSONAL = ("Astrid", "19850412-9803", "example.se", "Storgatan", "+46470123456")


def assert_no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text


@pytest.fixture
def crm(connectors: dict[str, Connector]) -> Connector:
    return connectors["crm"]


@pytest.fixture
def base(settings: Settings) -> str:
    return url(settings, "crm", "/customers/C-1001")


async def test_export_stores_the_record_and_only_the_call_count(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base).respond(200, json={**RECORD, "billing_records": [
        {"invoice_number": "5101", "invoice_date": "2026-09-01", "amount_sek": 399.0,
         "paid": True}]})
    history = respx_mock.get(base + "/call-history").respond(200, json={"items": [],
                                                                         "next": None})
    outcome = await crm.execute(make_call("crm", "export"))

    assert outcome.status is TaskStatus.done
    assert outcome.data is not None
    assert set(outcome.data) == {
        "customer_data", "services", "consents", "sources", "order_ip_log", "billing",
    }
    assert outcome.data["customer_data"]["personnummer"] == "19850412-9803"
    assert outcome.data["customer_data"]["call_history_count"] == 3
    assert not history.called  # the rows are streamed into the package, not stored here
    assert_no_personal_data(outcome.summary)
    assert "3 call-history records" in outcome.summary


async def test_export_without_a_call_count_fails(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base).respond(200, json={k: v for k, v in RECORD.items()
                                            if k != "call_history_count"})
    with pytest.raises(PermanentError, match="count"):
        await crm.execute(make_call("crm", "export"))


async def test_iter_call_history_pages_with_the_cursor(
    crm: Connector, base: str, respx_mock: respx.MockRouter
) -> None:
    history = respx_mock.get(base + "/call-history").mock(side_effect=[
        httpx.Response(200, json={"items": [{"id": "CH-1"}, {"id": "CH-2"}], "next": "c2"}),
        httpx.Response(200, json={"items": [{"id": "CH-3"}], "next": None}),
    ])
    pages = [page async for page in crm.iter_call_history("C-1001")]  # type: ignore[attr-defined]
    assert [[row["id"] for row in page] for page in pages] == [["CH-1", "CH-2"], ["CH-3"]]
    first, second = (call.request.url.params for call in history.calls)
    assert "after" not in first and first["limit"] == "1000"
    assert second["after"] == "c2"


async def test_iter_call_history_unknown_customer_is_empty(
    crm: Connector, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base + "/call-history").respond(404, json={"error": "not_found"})
    assert [page async for page in crm.iter_call_history("C-1001")] == []  # type: ignore[attr-defined]


async def test_export_unknown_customer_is_no_data(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base).respond(404, json={"error": "not_found"})
    outcome = await crm.execute(make_call("crm", "export"))
    assert outcome.status is TaskStatus.no_data


async def test_call_history_with_a_repeating_cursor_fails(
    crm: Connector, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base + "/call-history").respond(200, json={"items": [], "next": "same"})
    with pytest.raises(PermanentError, match="cursor"):
        async for _page in crm.iter_call_history("C-1001"):  # type: ignore[attr-defined]
            pass


async def test_call_history_with_a_malformed_page_fails(
    crm: Connector, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base + "/call-history").respond(200, json={"items": "nope", "next": None})
    with pytest.raises(PermanentError, match="unexpected"):
        async for _page in crm.iter_call_history("C-1001"):  # type: ignore[attr-defined]
            pass


async def test_export_provided_returns_the_datasets(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    datasets = {"customer": [{"customer_number": "C-1001", "name": "Astrid"}], "services": [],
                "consents": []}
    route = respx_mock.get(base + "/export").respond(200, json={"datasets": datasets})
    call = make_call("crm", "export_provided", request_type=RequestType.portability)
    outcome = await crm.execute(call)
    assert outcome.status is TaskStatus.done
    assert outcome.data == datasets
    assert route.calls.last.request.url.params["scope"] == "provided"
    assert_no_personal_data(outcome.summary)


async def test_export_provided_unknown_customer_is_no_data(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(base + "/export").respond(404, json={"error": "not_found"})
    outcome = await crm.execute(make_call("crm", "export_provided"))
    assert outcome.status is TaskStatus.no_data


async def test_rectify_sends_the_new_values_with_an_idempotency_key(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.patch(base).respond(200, json={
        "updated": ["email"], "previous_masked": {"email": "a***@e***.se"},
    })
    call = make_call(
        "crm", "rectify", request_type=RequestType.rectification,
        changes={"email": "astrid.ny@example.se"},
    )
    outcome = await crm.execute(call)
    request = route.calls.last.request
    assert json.loads(request.content) == {"changes": {"email": "astrid.ny@example.se"}}
    assert request.headers["Idempotency-Key"] == str(call.task_id)
    assert outcome.status is TaskStatus.done
    assert outcome.summary == "Rectified in the customer register: email."


async def test_erase_with_an_active_contract_is_retained(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    basis = "GDPR art. 6(1)(b), art. 17(3)(b) contract in force"
    respx_mock.post(base + "/erase").respond(200, json={
        "erased": ["marketing_consents", "order_ip_log"],
        "retained": [{"category": "contract_data", "basis": basis, "until": None},
                     {"category": "billing", "basis": "Bokföringslagen", "until": "2033-12-31"}],
    })
    outcome = await crm.execute(make_call("crm", "erase", request_type=RequestType.erasure))
    assert outcome.status is TaskStatus.retained
    assert [r.as_dict() for r in outcome.retained] == [
        {"category": "contract_data", "basis": basis, "until": None},
        {"category": "billing", "basis": "Bokföringslagen", "until": "2033-12-31"},
    ]
    assert "marketing_consents" in outcome.summary


async def test_erase_says_kept_with_each_basis_never_kept_by_law_for_the_contract(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/erase").respond(200, json={
        "erased": ["consents", "IP log"], "erased_codes": ["consents", "ip_log", "bad code!"],
        "retained": [{"category": "contract data", "basis": "art. 6(1)(b)", "until": None,
                      "code": "contract_data", "basis_code": "contract_in_force"},
                     {"category": "accounting records", "basis": "BFL", "until": "2033-12-31",
                      "code": "accounting_records", "basis_code": "bookkeeping"}],
    })
    outcome = await crm.execute(make_call("crm", "erase", request_type=RequestType.erasure))
    assert "by law" not in outcome.summary
    assert "contract data (contract_in_force, no end date yet)" in outcome.summary
    assert "accounting records (bookkeeping, until 2033-12-31)" in outcome.summary
    # the categories erased, as codes the answer words (a code that is not one is left out)
    assert outcome.code == "crm_erased" and outcome.params == {"erased": ["consents", "ip_log"]}
    assert outcome.public()["params"] == {"erased": ["consents", "ip_log"]}


async def test_each_run_of_a_deferred_erasure_is_its_own_write(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    """A deferred erasure that keeps something with a later date runs again under the same
    task id: the run's key names the date it is due for, so the register never answers the
    second run with the first one's answer."""
    route = respx_mock.post(base + "/erase-retained").respond(200, json={
        "erased": [], "retained": []})
    first = dataclasses.replace(make_call("crm", "erase_retained"), params={"items": [
        {"category": "a", "basis": "b", "until": "2033-12-31"},
        {"category": "c", "basis": "d", "until": "2029-10-31"}]})
    second = dataclasses.replace(first, params={"items": [
        {"category": "a", "basis": "b", "until": "2033-12-31"}]})
    await crm.execute(first)
    await crm.execute(second)
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys == [f"{first.task_id}:2029-10-31", f"{first.task_id}:2033-12-31"]


async def test_erase_of_everything_is_done(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/erase").respond(200, json={"erased": ["all"], "retained": []})
    outcome = await crm.execute(make_call("crm", "erase"))
    assert outcome.status is TaskStatus.done


async def test_erase_with_a_malformed_retained_date_fails(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/erase").respond(200, json={
        "erased": [], "retained": [{"category": "billing", "basis": "BFL", "until": "soon"}],
    })
    with pytest.raises(PermanentError, match="retained"):
        await crm.execute(make_call("crm", "erase"))


async def test_restrict_sends_the_grounds(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(base + "/restrict").respond(
        200, json={"restricted": True, "since": "2026-11-29T10:00:00Z"}
    )
    call = make_call("crm", "restrict", options={"grounds": "accuracy_contested"})
    outcome = await crm.execute(call)
    assert json.loads(route.calls.last.request.content) == {"grounds": "accuracy_contested"}
    assert outcome.status is TaskStatus.done


async def test_restrict_not_confirmed_fails(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/restrict").respond(200, json={"restricted": False})
    with pytest.raises(PermanentError):
        await crm.execute(make_call("crm", "restrict"))


async def test_stop_marketing(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/marketing-objection").respond(
        200, json={"marketing": "stopped", "consent_withdrawn": True}
    )
    outcome = await crm.execute(
        make_call("crm", "stop_marketing", request_type=RequestType.objection)
    )
    assert outcome.status is TaskStatus.done
    assert "consent withdrawn" in outcome.summary


@pytest.mark.parametrize(("action", "method", "path"), [
    ("erase", "POST", "/erase"), ("rectify", "PATCH", ""), ("restrict", "POST", "/restrict"),
    ("stop_marketing", "POST", "/marketing-objection"),
])
async def test_unknown_customer_is_no_data_for_every_action(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter,
    action: str, method: str, path: str,
) -> None:
    respx_mock.route(method=method, url=base + path).respond(404, json={"error": "not_found"})
    outcome = await crm.execute(make_call("crm", action, changes={"city": "Lund"}))
    assert outcome.status is TaskStatus.no_data


async def test_assess_objection_is_manual_and_sends_nothing(
    crm: Connector, make_call: MakeCall, respx_mock: respx.MockRouter
) -> None:
    outcome = await crm.execute(
        make_call("crm", "assess_objection", request_type=RequestType.objection)
    )
    assert outcome.status is TaskStatus.manual
    assert outcome.summary.startswith("An agent must weigh the objection")
    assert not respx_mock.calls


async def test_unexpected_4xx_names_only_the_error_code(
    crm: Connector, make_call: MakeCall, base: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(base + "/erase").respond(
        409, json={"error": "erasure_locked", "message": "Astrid Exempelsson is locked"}
    )
    with pytest.raises(PermanentError) as caught:
        await crm.execute(make_call("crm", "erase"))
    assert "erasure_locked" in caught.value.reason
    assert_no_personal_data(caught.value.reason)


async def test_unknown_action_and_no_callbacks(crm: Connector, make_call: MakeCall) -> None:
    with pytest.raises(PermanentError):
        await crm.execute(make_call("crm", "unlist"))
    assert await crm.poll(make_call("crm", "export")) is None
    assert not isinstance(crm, CallsBack)  # it answers at once
