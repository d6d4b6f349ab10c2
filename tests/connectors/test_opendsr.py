"""The OpenDSR-style partners: what each action sends, polling, and callback parsing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import respx

from app.connectors.base import Call, Connector
from app.errors import PermanentError
from app.models import RequestType, TaskStatus
from app.settings import Settings
from tests.connectors.conftest import LINKS, MakeCall, url

CASES: list[tuple[str, str, RequestType, dict[str, Any], str, dict[str, Any] | None]] = [
    # system, action, request type, call options/changes, subject_request_type, extensions
    ("stadsnat", "export", RequestType.access, {}, "access", None),
    ("stadsnat", "erase", RequestType.erasure, {}, "erasure", None),
    ("stadsnat", "rectify", RequestType.rectification, {"changes": {"address": "Nygatan 1"}},
     "rectification", {"rectification": {"changes": {"address": "Nygatan 1"}}}),
    ("stadsnat", "restrict", RequestType.restriction, {"options": {"grounds": "unlawful"}},
     "restriction", {"restriction": {"grounds": "unlawful"}}),
    ("snpac", "export", RequestType.access, {}, "access", None),
    ("snpac", "erase", RequestType.erasure, {}, "erasure", None),
    ("snpac", "restrict", RequestType.restriction, {}, "restriction",
     {"restriction": {"grounds": "unspecified"}}),
    ("snpac", "port_number", RequestType.portability,
     {"options": {"receiving_operator": "Telia"}}, "portability",
     {"number_porting": {"receiving_operator": "Telia"}}),
    ("eniro", "export", RequestType.access, {}, "access", None),
    ("eniro", "export", RequestType.portability, {}, "portability", None),
    ("eniro", "unlist", RequestType.erasure, {}, "erasure", None),
    ("eniro", "unlist", RequestType.objection, {}, "objection",
     {"objection": {"processing": "direct_marketing"}}),
    ("eniro", "rectify", RequestType.rectification, {"changes": {"phone": "+46470999999"}},
     "rectification", {"rectification": {"changes": {"phone": "+46470999999"}}}),
    ("eniro", "restrict", RequestType.restriction, {"options": {"grounds": "objection"}},
     "restriction", {"restriction": {"grounds": "objection"}}),
]


def accepted(call: Call) -> httpx.Response:
    return httpx.Response(202, json={
        "subject_request_id": str(call.task_id), "controller_id": "connect2ip",
        "received_time": "2026-11-29T10:00:01Z",
        "expected_completion_time": "2026-11-30T10:00:00Z", "request_status": "pending",
    })


def completed(
    task_id: uuid.UUID | str, subject: str = LINKS["stadsnat"], **result: Any
) -> dict[str, Any]:
    return {"subject_request_id": str(task_id), "request_status": "completed",
            "subject_identities": [{"identity_type": "controller_customer_id",
                                    "identity_value": subject}],
            "result": result}


@pytest.mark.parametrize(("system", "action", "request_type", "extra", "kind", "extensions"), CASES)
async def test_every_action_posts_an_opendsr_request(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str, action: str, request_type: RequestType,
    extra: dict[str, Any], kind: str, extensions: dict[str, Any] | None,
) -> None:
    call = make_call(system, action, request_type=request_type, **extra)
    route = respx_mock.post(url(settings, system, "/requests")).mock(return_value=accepted(call))
    outcome = await connectors[system].execute(call)

    assert outcome.status is TaskStatus.awaiting_callback
    assert outcome.ref == str(call.task_id)
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == str(call.task_id)
    body = json.loads(request.content)
    assert body["subject_request_id"] == str(call.task_id)
    assert body["subject_request_type"] == kind
    assert body["subject_identities"] == [{
        "identity_type": "controller_customer_id", "identity_value": LINKS[system],
        "identity_format": "raw",
    }]
    assert body["status_callback_urls"] == [call.callback_url]
    assert body["submitted_time"].endswith("Z")
    assert body.get("extensions") == extensions


async def test_api_key_is_sent_as_bearer(
    client: httpx.AsyncClient, make_call: MakeCall, respx_mock: respx.MockRouter
) -> None:
    from app.connectors.registry import build_connectors

    settings = Settings(_env_file=None, stadsnat_api_key="sn-key")
    call = make_call("stadsnat", "export")
    route = respx_mock.post(url(settings, "stadsnat", "/requests")).mock(
        return_value=accepted(call)
    )
    await build_connectors(settings, client)["stadsnat"].execute(call)
    assert route.calls.last.request.headers["Authorization"] == "Bearer sn-key"


async def test_port_number_without_an_operator_sends_nothing(
    connectors: dict[str, Connector], make_call: MakeCall, respx_mock: respx.MockRouter
) -> None:
    with pytest.raises(PermanentError, match="receiving operator"):
        await connectors["snpac"].execute(make_call("snpac", "port_number"))
    assert not respx_mock.calls


async def test_unsupported_action_sends_nothing(
    connectors: dict[str, Connector], make_call: MakeCall, respx_mock: respx.MockRouter
) -> None:
    with pytest.raises(PermanentError):
        await connectors["snpac"].execute(make_call("snpac", "rectify", changes={"x": "y"}))
    assert not respx_mock.calls


async def test_a_400_names_the_error_code_not_the_message(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(url(settings, "eniro", "/requests")).respond(
        400, json={"error": "invalid_body", "message": "listing of Astrid Exempelsson"}
    )
    with pytest.raises(PermanentError) as caught:
        await connectors["eniro"].execute(make_call("eniro", "export"))
    assert "invalid_body" in caught.value.reason
    assert "Astrid" not in caught.value.reason


async def test_acknowledging_another_request_is_permanent(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(url(settings, "eniro", "/requests")).respond(
        202, json={"subject_request_id": str(uuid.uuid4()), "request_status": "pending"}
    )
    with pytest.raises(PermanentError):
        await connectors["eniro"].execute(make_call("eniro", "export"))


# -- polling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "in_progress"])
async def test_poll_while_running_is_none(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, status: str,
) -> None:
    call = make_call("stadsnat", "erase")
    route = respx_mock.get(url(settings, "stadsnat", f"/requests/{call.task_id}")).respond(
        200, json={"subject_request_id": str(call.task_id), "request_status": status}
    )
    assert await connectors["stadsnat"].poll(call) is None
    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_poll_converts_a_completed_access_result(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    call = make_call("eniro", "export", external_ref="ref-from-partner")
    listing = {"listing": {"name": "Astrid Exempelsson", "number": "+46470123456"}}
    respx_mock.get(url(settings, "eniro", "/requests/ref-from-partner")).respond(
        200, json=completed(call.task_id, subject=LINKS["eniro"], outcome="done",
                            summary="Listing exported.", data=listing),
    )
    outcome = await connectors["eniro"].poll(call)
    assert outcome is not None
    assert outcome.status is TaskStatus.done
    assert outcome.data == listing
    assert outcome.summary == "Listing exported."


async def test_poll_of_a_lost_request_sends_it_again(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    call = make_call("snpac", "erase")
    respx_mock.get(url(settings, "snpac", f"/requests/{call.task_id}")).respond(404)
    resent = respx_mock.post(url(settings, "snpac", "/requests")).mock(return_value=accepted(call))
    assert await connectors["snpac"].poll(call) is None
    assert json.loads(resent.calls.last.request.content)["subject_request_id"] == str(call.task_id)


async def test_poll_of_a_cancelled_request_fails_the_task(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    call = make_call("snpac", "erase")
    respx_mock.get(url(settings, "snpac", f"/requests/{call.task_id}")).respond(
        200, json={"subject_request_id": str(call.task_id), "request_status": "cancelled"}
    )
    outcome = await connectors["snpac"].poll(call)
    assert outcome is not None and outcome.status is TaskStatus.failed


# -- callbacks ----------------------------------------------------------------------------------


@pytest.fixture
def stadsnat(connectors: dict[str, Connector]) -> Connector:
    return connectors["stadsnat"]


def test_callback_done(stadsnat: Connector) -> None:
    task_id = uuid.uuid4()
    parsed_id, _round, outcome = stadsnat.parse_callback(
        completed(task_id, outcome="done", summary="Service record restricted.")
    )
    assert parsed_id == task_id
    assert outcome.status is TaskStatus.done
    assert outcome.summary == "Service record restricted."


def test_callback_no_data(stadsnat: Connector) -> None:
    _, _round, outcome = stadsnat.parse_callback(completed(uuid.uuid4(), outcome="no_data"))
    assert outcome.status is TaskStatus.no_data
    assert outcome.summary == "stadsnat reported no_data."


def test_callback_retained(stadsnat: Connector) -> None:
    basis = "GDPR art. 6(1)(b), contract in force"
    _, _round, outcome = stadsnat.parse_callback(completed(
        uuid.uuid4(), outcome="retained", summary="History erased; address kept.",
        retained=[{"category": "connection_address", "basis": basis, "until": None},
                  {"category": "billing", "basis": "BFL", "until": "2033-12-31"}],
    ))
    assert outcome.status is TaskStatus.retained
    assert [r.as_dict() for r in outcome.retained] == [
        {"category": "connection_address", "basis": basis, "until": None},
        {"category": "billing", "basis": "BFL", "until": "2033-12-31"},
    ]


def test_callback_refused_fails_the_task_with_the_reason(stadsnat: Connector) -> None:
    task_id = uuid.uuid4()
    parsed_id, _round, outcome = stadsnat.parse_callback(
        completed(task_id, outcome="refused", reason="Service ID belongs to another operator")
    )
    assert parsed_id == task_id
    assert outcome.status is TaskStatus.failed
    assert "Service ID belongs to another operator" in outcome.summary


def test_callback_text_with_personal_data_is_not_kept(stadsnat: Connector) -> None:
    _, _round, refused = stadsnat.parse_callback(completed(
        uuid.uuid4(), outcome="refused", reason="Subject 19850412-9803 is not ours",
    ))
    _, _round, done = stadsnat.parse_callback(completed(
        uuid.uuid4(), outcome="done", summary="Mailed astrid@example.se at +46470123456",
    ))
    assert "19850412" not in refused.summary
    assert done.summary == "stadsnat reported done."


def test_callback_still_running_changes_nothing(stadsnat: Connector) -> None:
    task_id = uuid.uuid4()
    parsed_id, _round, outcome = stadsnat.parse_callback(
        {"subject_request_id": str(task_id), "request_status": "in_progress"}
    )
    assert parsed_id == task_id
    assert outcome.status is TaskStatus.awaiting_callback


@pytest.mark.parametrize("payload", [
    {},
    {"subject_request_id": "not-a-uuid", "request_status": "completed",
     "result": {"outcome": "done"}},
    {"subject_request_id": str(uuid.UUID(int=1)), "request_status": "exploded"},
    {"subject_request_id": str(uuid.UUID(int=1)), "request_status": "completed"},
    completed(uuid.UUID(int=1), outcome="maybe"),
    completed(uuid.UUID(int=1), outcome="retained", retained=[]),
    completed(uuid.UUID(int=1), outcome="retained",
              retained=[{"category": "x", "basis": "y", "until": "31/12/2033"}]),
    completed(uuid.UUID(int=1), outcome="done", data=["not", "an", "object"]),
])
def test_invalid_callbacks_are_permanent_errors(
    stadsnat: Connector, payload: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError):
        stadsnat.parse_callback(payload)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("body", [
    "[" * 30_000,  # a parser would recurse until it crashed
    json.dumps({"request_status": "completed", "result": {"outcome": "done",
                                                          "data": {"k": "a\u0000b"}}}),
    json.dumps({"request_status": "completed", "result": {"reason": "x", "outcome": "refused",
                                                          "\u0000": 1}}),
    json.dumps({"request_status": "completed", "result": _nested(40)}),
])
async def test_a_poll_answer_no_database_can_store_fails_the_task_with_a_reason(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, body: str,
) -> None:
    """Deep nesting or a NUL from a partner's poll answer is a permanent error naming the
    partner, never a crash of the worker or a 500 from the database (issue 20, finding 3)."""
    call = make_call("stadsnat", "erase")
    respx_mock.get(url(settings, "stadsnat", f"/requests/{call.task_id}")).respond(
        200, content=body.encode(), headers={"content-type": "application/json"})
    with pytest.raises(PermanentError) as raised:
        await connectors["stadsnat"].poll(call)
    assert str(raised.value).startswith("stadsnat answered 200 with")
    assert "\u0000" not in str(raised.value) and "a\u0000b" not in str(raised.value)
