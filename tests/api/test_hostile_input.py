"""Hostile input: every input once found to make a 500, or to be accepted when it must not be.

Each gets a clear application/problem+json 4xx, changes nothing, and no answer repeats it. The
NUL cases broke only PostgreSQL (which cannot store a NUL in text), so they matter most in the
PostgreSQL run of the suite; they run on both.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth import Role, mint_token
from app.errors import PROBLEM_BASE
from app.models import AuditEvent, DsrRequest, IdempotencyKey, Link
from tests.helpers import agent_body, assert_problem, create

NUL = "a\x00b"
PNR = "19850412-9803"


async def count(app, model) -> int:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def waiting(client, agent) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A request that awaits identity verification (every agent action applies to it)."""
    return await create(client, agent, agent_body("erasure"))


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# -- NUL characters (500 on PostgreSQL) ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("verify", {"method": NUL}),
        ("cancel", {"note": NUL}),
        ("reject", {"reason": "other", "note": NUL}),
        ("extend", {"months": 1, "reason": NUL}),
    ],
)
async def test_nul_in_an_action_body_is_422_and_changes_nothing(  # type: ignore[no-untyped-def]
    client, agent, app, waiting, path: str, body: dict[str, Any]
) -> None:
    before = await count(app, AuditEvent)
    response = await client.post(f"/v1/requests/{waiting['id']}/{path}", json=body,
                                 headers=agent)
    problem = assert_problem(response, 422)
    assert problem["type"] == PROBLEM_BASE + "validation-error"
    # (verify's method is one of a list: a NUL there is simply not one of them)
    assert path == "verify" or "NUL" in problem["detail"]
    assert "\\u0000" not in response.text and NUL not in response.text
    assert await count(app, AuditEvent) == before
    again = (await client.get(f"/v1/requests/{waiting['id']}", headers=agent)).json()
    assert again["status"] == "awaiting_verification"


@pytest.mark.parametrize(
    "body",
    [
        agent_body(identity_verification=NUL),
        {"type": "rectification", "customer_number": "C-1001", "channel": "phone",
         "details": {"changes": {"name": NUL}}},
        {"type": "portability", "customer_number": "C-1001", "channel": "phone",
         "details": {"receiving_operator": NUL}},
    ],
)
async def test_nul_in_a_new_request_is_422(client, agent, app, body) -> None:  # type: ignore[no-untyped-def]
    assert_problem(await client.post("/v1/requests", json=body, headers=agent), 422)
    assert await count(app, DsrRequest) == 0


async def test_nul_in_a_manual_task_outcome_is_422(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body("access", identity_verification="bankid"))
    task = created["tasks"][0]["id"]
    response = await client.post(
        f"/v1/requests/{created['id']}/tasks/{task}/complete", headers=agent,
        json={"outcome": "retained", "note": "kept",
              "retained": [{"category": NUL, "basis": "law"}]})
    assert_problem(response, 422)


async def test_nul_in_query_idempotency_key_and_token_subject(client, agent, app, settings) -> None:  # type: ignore[no-untyped-def]
    assert_problem(await client.get("/v1/requests", params={"customer_number": "C-10\x0001"},
                                    headers=agent), 422)
    response = await client.post("/v1/requests", json=agent_body(),
                                 headers={**agent, "Idempotency-Key": "key\x00one"})
    assert_problem(response, 422)
    assert await count(app, IdempotencyKey) == 0
    for sub in (NUL, "agent\n", " agent", "x" * 101):
        token = mint_token(settings, role=Role.agent, sub=sub)
        answer = await client.post("/v1/requests", json=agent_body(),
                                   headers={"Authorization": f"Bearer {token}"})
        assert_problem(answer, 401)
    assert await count(app, DsrRequest) == 0


# -- cursors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor({"c": "2026-11-29T10:00:00", "i": str(uuid.uuid4())}),  # no zone
        _cursor({"c": "2026-11-29", "i": str(uuid.uuid4())}),  # a date only
        _cursor({"c": "0001-01-01T00:00:00+14:00", "i": str(uuid.uuid4())}),  # before year 1
        _cursor({"c": "2026-11-29T10:00:00+00:00", "i": 7}),
        _cursor({"c": ["2026"], "i": str(uuid.uuid4())}),
        _cursor(["c", "i"]),
        _cursor("just a string"),
        "%%%not-base64",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_a_forged_cursor_is_400_invalid_cursor(client, agent, cursor: str) -> None:  # type: ignore[no-untyped-def]
    problem = assert_problem(
        await client.get("/v1/requests", params={"cursor": cursor}, headers=agent), 400)
    assert problem["type"] == PROBLEM_BASE + "invalid-cursor"


async def test_an_issued_cursor_still_pages(client, agent) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await create(client, agent, agent_body())
    first = (await client.get("/v1/requests?limit=2", headers=agent)).json()
    second = (await client.get("/v1/requests", params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=agent)).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1


# -- unreadable bodies -----------------------------------------------------------------------


BODY_ROUTES = ["verify", "cancel", "reject", "extend", "lift"]


@pytest.mark.parametrize("raw", [b'{"note": "\xff\xfe"}', b'{"note": "a\x00b"}', b'{"note":'])
async def test_every_unreadable_body_is_one_problem_type(client, agent, waiting, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    headers = {**agent, "Content-Type": "application/json"}
    targets = [f"/v1/requests/{waiting['id']}/{path}" for path in BODY_ROUTES]
    targets += ["/v1/requests", "/v1/links/C-1001/stadsnat",
                f"/v1/requests/{waiting['id']}/tasks/{waiting['tasks'][0]['id']}/complete"]
    for url in targets:
        method = client.put if url.startswith("/v1/links") else client.post
        problem = assert_problem(await method(url, content=raw, headers=headers), 400)
        assert problem["type"] == PROBLEM_BASE + "malformed-json", url
        assert problem["title"] == "Malformed JSON"


async def test_titles_are_sentence_case_everywhere(client, agent) -> None:  # type: ignore[no-untyped-def]
    answers = [await client.get("/v1/nothing", headers=agent),
               await client.delete("/v1/requests", headers=agent),
               await client.post("/v1/requests", content=b"\xff", headers={
                   **agent, "Content-Type": "application/json"})]
    for answer in answers:  # "Not found", "Method not allowed", "Malformed JSON"
        words = answer.json()["title"].split()[1:]
        assert not any(w[0].isupper() and w[1:].islower() for w in words), words


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/requests", {"GET", "POST"}),
        ("PUT", "/v1/requests", {"GET", "POST"}),
        ("GET", "/v1/requests/{id}/verify", {"POST"}),
        ("POST", "/v1/requests/{id}/response", {"GET", "HEAD"}),
        ("POST", "/v1/links/C-1001/stadsnat", {"PUT"}),
    ],
)
async def test_405_lists_every_method_of_the_path(client, agent, method, path, allowed) -> None:  # type: ignore[no-untyped-def]
    response = await client.request(method, path.replace("{id}", str(uuid.uuid4())),
                                    headers=agent)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == allowed


# -- sizes -----------------------------------------------------------------------------------


async def test_oversized_headers_are_431_before_anything_reads_them(client) -> None:  # type: ignore[no-untyped-def]
    problem = assert_problem(await client.get("/healthz", headers={"X-Big": "x" * 20_000}), 431)
    assert problem["type"] == PROBLEM_BASE + "headers-too-large"
    started = time.perf_counter()
    huge = "Bearer " + "A" * 30_000_000
    answer = await client.get("/v1/requests", headers={"Authorization": huge})
    assert_problem(answer, 431)
    assert time.perf_counter() - started < 1.0
    assert (await client.get("/healthz", headers={"X-Fine": "x" * 8_000})).status_code == 200


async def test_a_long_token_under_the_header_limit_is_refused_unread(client) -> None:  # type: ignore[no-untyped-def]
    answer = await client.get("/v1/requests", headers={"Authorization": "Bearer " + "A" * 9000})
    assert assert_problem(answer, 401)["detail"] == "The bearer token is too long."


# -- identifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["C-\uff11\uff10\uff10\uff11", "C-\u0661\u0660\u0660\u0661",
                                    "C-1001\n", "C-1001 ", "c-1001"])
async def test_customer_numbers_are_ascii_and_whole(client, agent, app, auth, settings, number) -> None:  # type: ignore[no-untyped-def]
    assert_problem(await client.post("/v1/requests", json=agent_body(customer_number=number),
                                     headers=agent), 422)
    assert_problem(await client.get("/v1/requests", params={"customer_number": number},
                                    headers=agent), 422)
    from urllib.parse import quote

    assert_problem(await client.put(f"/v1/links/{quote(number)}/stadsnat", headers=agent,
                                    json={"external_id": "SN-1"}), 422)
    with pytest.raises(ValueError):
        mint_token(settings, role=Role.portal, sub="p", customer_number=number)
    forged = mint_token(settings, role=Role.agent, sub="p")  # then a portal claim by hand
    from jose import jwt

    claims = jwt.get_unverified_claims(forged) | {"role": "portal", "customer_number": number}
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    assert_problem(await client.get("/v1/requests", headers={"Authorization": f"Bearer {token}"}),
                   401)
    assert await count(app, DsrRequest) == 0 and await count(app, Link) == 0


@pytest.mark.parametrize("external_id", ["..", ".", "../3", "./x", ".hidden", "a/b", "SN%2F1",
                                         "SN-1\n", "\uff11\uff10"])
async def test_link_ids_never_hold_path_segments(client, agent, app, external_id) -> None:  # type: ignore[no-untyped-def]
    answer = await client.put("/v1/links/C-1001/fortnox", json={"external_id": external_id},
                              headers=agent)
    assert_problem(answer, 422)
    assert await count(app, Link) == 0


@pytest.mark.parametrize("external_id", ["1001", "+46701234567", "SN-440017", "HIT-99.2"])
async def test_real_link_ids_are_accepted(client, agent, external_id) -> None:  # type: ignore[no-untyped-def]
    answer = await client.put("/v1/links/C-1001/snpac", json={"external_id": external_id},
                              headers=agent)
    assert answer.status_code == 200 and answer.json()["external_id"] == external_id


# -- no echo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"type": PNR},
        {"type": "access", PNR: 1},
        {"type": "access", "details": {PNR: "x"}},
        {"type": "rectification", "details": {"changes": {PNR: "x"}}},
        {"type": "rectification", "details": {"changes": {"email": PNR}}},
        {"type": "access", "language": PNR},
        {"type": "access", "customer_number": PNR},
        {"type": "portability", "details": {"formats": [PNR]}},
    ],
)
async def test_no_problem_repeats_the_input(client, portal, body) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/requests", json=body, headers=portal)
    assert_problem(response, 422)
    assert PNR not in response.text and "9803" not in response.text


async def test_unknown_fields_are_named_by_location_not_by_their_name(client, portal) -> None:  # type: ignore[no-untyped-def]
    problem = assert_problem(await client.post(
        "/v1/requests", json={"type": "access", "details": {"astrid": 1}}, headers=portal), 422)
    assert problem["errors"][0]["loc"] == ["body", "access", "details", "*"]
    assert "extra fields are not accepted" in problem["errors"][0]["msg"]


# -- partner callbacks that crashed a parser or the database ---------------------------------


def _signed_raw(system: str, raw: str) -> tuple[bytes, dict[str, str]]:
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    from app.settings import dev_webhook_secret

    msg_id = f"msg_{uuid.uuid4().hex}"
    signature = Webhook(dev_webhook_secret(system)).sign(msg_id, datetime.now(UTC), raw)
    return raw.encode(), {"webhook-id": msg_id, "webhook-signature": signature,
                          "webhook-timestamp": signature and str(int(time.time())),
                          "content-type": "application/json"}


@pytest.fixture
async def at_partner(client, portal, agent, app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An access request whose stadsnät task is at the partner, awaiting its callback."""
    from app.connectors import base
    from app.services.dispatch import Dispatcher
    from tests.services.fakes import fakes

    await client.put("/v1/links/C-1001/stadsnat", json={"external_id": "SN-1"}, headers=agent)
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(str(c.task_id)))
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    task = next(t for t in body["tasks"] if t["system"] == "stadsnat")
    assert task["status"] == "awaiting_callback"
    return {"request": created["id"], "task": task["id"]}


async def _unchanged(client, agent, app, at_partner, events: int) -> None:  # type: ignore[no-untyped-def]
    from app.models import WebhookReceipt

    body = (await client.get(f"/v1/requests/{at_partner['request']}", headers=agent)).json()
    task = next(t for t in body["tasks"] if t["id"] == at_partner["task"])
    assert task["status"] == "awaiting_callback" and body["status"] == "in_progress"
    assert await count(app, AuditEvent) == events
    assert await count(app, WebhookReceipt) == 0  # the partner may send it again, corrected


def _completed(task_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"subject_request_id": task_id, "request_status": "completed",
            "subject_identities": [{"identity_type": "controller_customer_id",
                                    "identity_value": "SN-1"}], "result": result}


@pytest.mark.parametrize("depth", [30_000, 200, 40])
@pytest.mark.parametrize("closed", [True, False])
async def test_a_deeply_nested_callback_is_400_and_changes_nothing(  # type: ignore[no-untyped-def]
    client, agent, app, at_partner, depth: int, closed: bool
) -> None:
    """30,000 nested arrays in a correctly signed callback were a 500 (RecursionError)."""
    nested = "[" * depth + ("]" * depth if closed else "")
    raw = json.dumps(_completed(at_partner["task"], {"outcome": "done", "data": {"x": 0}}))
    raw = raw.replace('{"x": 0}', '{"x": ' + nested + "}")
    events = await count(app, AuditEvent)
    body, headers = _signed_raw("stadsnat", raw)
    response = await client.post("/v1/webhooks/stadsnat", content=body, headers=headers)
    problem = assert_problem(response, 400)
    assert problem["type"] in (PROBLEM_BASE + "bad-request", PROBLEM_BASE + "malformed-json")
    assert "nested" in problem["detail"] or not closed
    await _unchanged(client, agent, app, at_partner, events)


@pytest.mark.parametrize(
    ("result", "loc"),
    [
        ({"outcome": "refused", "reason": "Legal\x00hold"}, ["result", "reason"]),
        ({"outcome": "done", "summary": "Exported\x00", "data": {"a": 1}}, ["result", "summary"]),
        ({"outcome": "done", "data": {"connection": [{"street": "x\x00"}]}},
         ["result", "data", "*", 0, "*"]),
        ({"outcome": "done", "data": {"ke\x00y": 1}}, ["result", "data"]),
        ({"outcome": "retained", "retained": [{"category": "log", "basis": "LEK\x00",
                                               "until": None}]}, ["result", "retained", 0, "basis"]),
    ],
)
async def test_a_nul_in_a_partner_callback_is_400_naming_the_field(  # type: ignore[no-untyped-def]
    client, agent, app, at_partner, result: dict[str, Any], loc: list[str | int]
) -> None:
    """A NUL in a partner's string was a 500 on PostgreSQL (DBAPIError), which cannot store
    one in text or JSON: it is refused, naming where, before anything is stored."""
    events = await count(app, AuditEvent)
    body, headers = _signed_raw("stadsnat", json.dumps(_completed(at_partner["task"], result)))
    response = await client.post("/v1/webhooks/stadsnat", content=body, headers=headers)
    problem = assert_problem(response, 400)
    assert problem["type"] == PROBLEM_BASE + "bad-request"
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)[1:]
    assert problem["detail"].startswith(field + " ") and "NUL" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", *loc]
    assert "\\u0000" not in response.text and "Legal" not in response.text
    await _unchanged(client, agent, app, at_partner, events)
    clean, headers = _signed_raw("stadsnat", json.dumps(_completed(
        at_partner["task"], {"outcome": "refused", "reason": "Legal hold"})))
    answer = await client.post("/v1/webhooks/stadsnat", content=clean, headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "applied"


async def _chunks(raw: bytes, size: int = 4096):  # type: ignore[no-untyped-def]
    for start in range(0, len(raw), size):
        yield raw[start:start + size]


@pytest.mark.parametrize("target", ["requests", "lift"])
async def test_a_chunked_body_over_the_limit_is_413(client, agent, app, settings, target) -> None:  # type: ignore[no-untyped-def]
    """With no Content-Length (Transfer-Encoding: chunked) an 80 KB body was 400
    malformed-json: the limit was hit inside FastAPI's body parsing, which hid it."""
    url = "/v1/requests" if target == "requests" else f"/v1/requests/{uuid.uuid4()}/lift"
    raw = json.dumps({**agent_body(), "note": "x" * 80_000}).encode()
    assert len(raw) > settings.max_body_bytes
    events, requests = await count(app, AuditEvent), await count(app, DsrRequest)
    response = await client.post(url, content=_chunks(raw), headers={
        **agent, "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    problem = assert_problem(response, 413)
    assert problem["type"] == PROBLEM_BASE + "payload-too-large"
    assert await count(app, AuditEvent) == events and await count(app, DsrRequest) == requests
    small = json.dumps(agent_body()).encode()  # a chunked body under the limit still works
    if target == "requests":
        answer = await client.post(url, content=_chunks(small, 7), headers={
            **agent, "Content-Type": "application/json"})
        assert answer.status_code == 202, answer.text
