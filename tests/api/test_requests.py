"""The requests API: creation per type, roles, lifecycle transitions, listing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.models import AuditEvent, DsrRequest, IdempotencyKey, Task
from tests.helpers import agent_body, assert_problem, create


async def count_rows(app, model) -> int:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("type_", "details"),
    [
        ("access", {}),
        ("erasure", {}),
        ("rectification", {"changes": {"email": "ny@example.se", "city": "Växjö"}}),
        ("restriction", {"grounds": "accuracy_contested"}),
        ("objection", {"processing": "direct_marketing"}),
        ("objection", {"processing": "legitimate_interest", "activity": "Trafikanalys", "grounds": "Min situation"}),
        ("portability", {"formats": ["json", "csv"], "receiving_operator": "Telia"}),
    ],
)
async def test_portal_creates_every_type_verified(client, portal, type_, details) -> None:  # type: ignore[no-untyped-def]
    body = {"type": type_, "details": details, "language": "en"}
    created = await create(client, portal, body)
    assert created["status"] == "in_progress"
    assert created["customer_number"] == "C-1001"
    assert created["channel"] == "portal"
    assert created["identity_verification"] == "bankid"
    assert created["language"] == "en"
    assert created["tasks"], "every request gets at least the own register's task"
    assert all(t["status"] == "pending" and t["attempts"] == 0 for t in created["tasks"])
    fetched = (await client.get(f"/v1/requests/{created['id']}", headers=portal)).json()
    assert fetched["id"] == created["id"] and fetched["due_at"] == created["due_at"]


async def test_the_answer_is_what_was_stored(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    """Intake writes the tasks as rows and answers from them: the answer, a later read and the
    database agree, and each stored task has its copied keys, its claim time and an audit
    head on the request that the first event matches."""
    created = await create(client, portal, {"type": "rectification",
                                            "details": {"changes": {"email": "ny@example.se"}}})
    fetched = (await client.get(f"/v1/requests/{created['id']}", headers=portal)).json()
    assert created["tasks"] == fetched["tasks"]
    assert [(t["system"], t["action"]) for t in created["tasks"]] == sorted(
        (t["system"], t["action"]) for t in created["tasks"])
    async with app.state.sessionmaker() as session:
        request = await session.get(DsrRequest, uuid.UUID(created["id"]))
        tasks = list(await session.scalars(select(Task).where(Task.request_id == request.id)))
        [event] = list(await session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request.id)))
    assert {str(t.id) for t in tasks} == {t["id"] for t in created["tasks"]}
    for task in tasks:
        assert task.customer_number == "C-1001" and task.writes is True
        assert task.ready_at == task.created_at == request.created_at
    assert (request.audit_seq, request.audit_head) == (1, event.hash)
    assert event.action == "created" and event.data["fields"] == ["email"]


def test_a_new_task_row_sets_every_column() -> None:
    """Task.row is the bulk-insert twin of Task.of: a column added to the table and not to
    the row would be left to the database's default, unlike in an ORM-made task."""
    request = DsrRequest(id=uuid.uuid4(), type="access", status="in_progress",
                         customer_number="C-1001", channel="portal", language="sv",
                         received_at=utcnow(), due_at=utcnow(), created_by="t",
                         created_by_role="portal")
    row = Task.row(request, "crm", "export")
    assert set(row) == set(Task.__table__.columns.keys())
    assert row["writes"] is False and row["ready_at"] == row["created_at"]
    task = Task.of(request, "crm", "export")
    assert {k: getattr(task, k) for k in row if k != "id"} == {
        **{k: v for k, v in row.items() if k != "id"},
        "created_at": task.created_at, "updated_at": task.updated_at,
        "ready_at": task.created_at}


async def test_rectification_values_are_not_echoed(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    body = {"type": "rectification", "details": {"changes": {"email": "hemlig@example.se"}}}
    response = await client.post("/v1/requests", json=body, headers=portal)
    assert "hemlig@example.se" not in response.text
    assert response.json()["details"] == {"changes": ["email"]}
    events = (await client.get(f"/v1/requests/{response.json()['id']}/events",
                               headers={"Authorization": portal["Authorization"]}))
    assert events.status_code == 403  # the audit trail is for agents


async def test_objection_plans_tasks_by_processing(client, portal) -> None:  # type: ignore[no-untyped-def]
    marketing = await create(client, portal, {"type": "objection",
                                              "details": {"processing": "direct_marketing"}})
    assert ("crm", "stop_marketing") in {(t["system"], t["action"]) for t in marketing["tasks"]}
    weighed = await create(client, portal, {"type": "objection",
                                            "details": {"processing": "legitimate_interest", "activity": "Trafikanalys", "grounds": "Min situation"}})
    assert {(t["system"], t["action"]) for t in weighed["tasks"]} == {("crm", "assess_objection")}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"type": "deletion"}, 422, "body"),
        ({}, 422, "body"),
        ({"type": "rectification"}, 422, "details"),
        ({"type": "rectification", "details": {"changes": {}}}, 422, "changes"),
        ({"type": "rectification", "details": {"changes": {"shoe_size": "44"}}}, 422, "changes"),
        ({"type": "rectification", "details": {"changes": {"email": "not-an-email"}}}, 422,
         "changes"),
        ({"type": "objection", "details": {}}, 422, "processing"),
        # a port goes only to an operator in SNPAC's registry
        ({"type": "portability", "details": {"receiving_operator": "Hittepå Tele AB"}}, 422,
         "receiving_operator"),
        # legitimate interest needs what is objected to and why; unlist is for marketing
        ({"type": "objection", "details": {"processing": "legitimate_interest"}}, 422,
         "details"),
        ({"type": "objection", "details": {"processing": "direct_marketing",
                                           "grounds": "x"}}, 422, "details"),
        ({"type": "access", "customer_number": "C-1001", "channel": "phone",
          "identity_verification": "none"}, 422, "identity_verification"),
        ({"type": "objection", "details": {"processing": "spam"}}, 422, "processing"),
        ({"type": "restriction", "details": {}}, 422, "grounds"),
        ({"type": "portability", "details": {"formats": ["xml"]}}, 422, "formats"),
        ({"type": "access", "details": {"extra": 1}}, 422, "extra"),
        ({"type": "access", "language": "de"}, 422, "language"),
        ({"type": "access", "channel": "phone"}, 422, "channel"),
        ({"type": "access", "identity_verification": "bankid"}, 422, "identity_verification"),
    ],
)
async def test_bad_bodies_are_problems_and_store_nothing(client, portal, app, body, status, field) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/requests", json=body, headers=portal)
    problem = assert_problem(response, status)
    assert field in problem["detail"] or any(field in map(str, e["loc"]) for e in problem.get("errors", []))
    for err in problem.get("errors", []):
        assert "input" not in err and "ctx" not in err
    assert await count_rows(app, DsrRequest) == 0
    assert await count_rows(app, Task) == 0


async def test_malformed_json_is_400(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/v1/requests", content=b'{"type": "access",', headers={**portal,
                                                               "Content-Type": "application/json"}
    )
    assert assert_problem(response, 400)["title"] == "Malformed JSON"
    assert await count_rows(app, DsrRequest) == 0


async def test_oversized_body_is_413(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    huge = {"type": "rectification", "details": {"changes": {"name": "x" * 100_000}}}
    assert_problem(await client.post("/v1/requests", json=huge, headers=portal), 413)
    assert await count_rows(app, DsrRequest) == 0


async def test_validation_errors_never_echo_personal_data(client, portal) -> None:  # type: ignore[no-untyped-def]
    pnr = "19811218-9876"
    response = await client.post(
        "/v1/requests", json={"type": "rectification",
                              "details": {"changes": {"email": pnr, "personnummer": pnr}}},
        headers=portal,
    )
    assert_problem(response, 422)
    assert pnr not in response.text


async def test_agent_request_waits_for_verification(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body("erasure"))
    assert created["status"] == "awaiting_verification"
    assert created["identity_verification"] is None
    verified = await client.post(f"/v1/requests/{created['id']}/verify",
                                 json={"method": "id_document"}, headers=agent)
    assert verified.status_code == 200
    assert verified.json()["status"] == "in_progress"
    assert verified.json()["identity_verification"] == "id_document"
    again = await client.post(f"/v1/requests/{created['id']}/verify",
                              json={"method": "bankid"}, headers=agent)
    assert "in_progress" in assert_problem(again, 409)["detail"]


async def test_agent_with_identity_starts_in_progress(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body(identity_verification="bankid"))
    assert created["status"] == "in_progress"


@pytest.mark.parametrize("missing", ["customer_number", "channel"])
async def test_agent_must_name_customer_and_channel(client, agent, app, missing) -> None:  # type: ignore[no-untyped-def]
    body = agent_body()
    del body[missing]
    assert missing in assert_problem(
        await client.post("/v1/requests", json=body, headers=agent), 422
    )["detail"]
    assert await count_rows(app, DsrRequest) == 0


async def test_portal_is_confined_to_its_customer(client, auth, agent) -> None:  # type: ignore[no-untyped-def]
    other = await create(client, agent, agent_body(customer_number="C-1002"))
    mine = auth("portal", "C-1001")
    assert_problem(await client.get(f"/v1/requests/{other['id']}", headers=mine), 404)
    missing = "00000000-0000-4000-8000-000000000000"
    a = await client.get(f"/v1/requests/{other['id']}", headers=mine)
    b = await client.get(f"/v1/requests/{missing}", headers=mine)
    assert a.json()["detail"] == b.json()["detail"]  # no existence leak
    assert_problem(await client.post("/v1/requests", headers=mine,
                                      json={"type": "access", "customer_number": "C-1002"}), 403)
    listing = await client.get("/v1/requests", headers=mine)
    assert listing.json()["items"] == []
    listing = await client.get("/v1/requests?customer_number=C-1002", headers=mine)
    assert listing.json()["items"] == []
    for action, body in [("verify", {"method": "x"}), ("cancel", {"note": "x"})]:
        assert_problem(await client.post(f"/v1/requests/{other['id']}/{action}", json=body,
                                         headers=mine), 403)


async def test_portal_may_not_act_as_agent_on_own_request(client, portal) -> None:  # type: ignore[no-untyped-def]
    own = await create(client, portal, {"type": "access"})
    for action, body in [("verify", {"method": "x"}), ("reject", {"reason": "other", "note": "x"}),
                         ("extend", {"months": 1, "reason": "x"}), ("cancel", {"note": "x"})]:
        assert_problem(await client.post(f"/v1/requests/{own['id']}/{action}", json=body,
                                         headers=portal), 403)
    assert_problem(await client.get(f"/v1/requests/{own['id']}/events", headers=portal), 403)


async def test_admin_has_agent_rights(client, auth) -> None:  # type: ignore[no-untyped-def]
    admin = auth("admin")
    created = await create(client, admin, agent_body())
    response = await client.post(f"/v1/requests/{created['id']}/cancel",
                                 json={"note": "duplicate"}, headers=admin)
    assert response.json()["status"] == "cancelled"


async def test_reject_with_reason(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    response = await client.post(
        f"/v1/requests/{created['id']}/reject",
        json={"reason": "manifestly_unfounded", "note": "fourth identical request this week"},
        headers=agent,
    )
    body = response.json()
    assert body["status"] == "rejected" and body["reject_reason"] == "manifestly_unfounded"
    assert body["finished_at"] is not None
    assert all(t["status"] == "cancelled" for t in body["tasks"])
    assert_problem(await client.post(f"/v1/requests/{created['id']}/reject",
                                     json={"reason": "excessive", "note": "x"}, headers=agent), 409)


@pytest.mark.parametrize(
    "body",
    [{"reason": "because", "note": "x"}, {"reason": "excessive"}, {"reason": "excessive", "note": ""}],
)
async def test_reject_needs_known_reason_and_note(client, agent, body) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    assert_problem(await client.post(f"/v1/requests/{created['id']}/reject", json=body,
                                     headers=agent), 422)
    assert (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()[
        "status"] == "awaiting_verification"


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("cancel", "verify"), ("cancel", "extend"), ("cancel", "reject"), ("cancel", "cancel"),
        ("reject", "extend"), ("reject", "verify"), ("reject", "cancel"),
    ],
)
async def test_illegal_transitions_are_409(client, agent, first, then) -> None:  # type: ignore[no-untyped-def]
    bodies = {"verify": {"method": "bankid"}, "cancel": {"note": "withdrawn by phone"},
              "reject": {"reason": "excessive", "note": "x"},
              "extend": {"months": 1, "reason": "complex"}}
    created = await create(client, agent, agent_body())
    assert (await client.post(f"/v1/requests/{created['id']}/{first}", json=bodies[first],
                              headers=agent)).status_code == 200
    problem = assert_problem(
        await client.post(f"/v1/requests/{created['id']}/{then}", json=bodies[then],
                          headers=agent), 409)
    assert problem["detail"].startswith(f"Cannot {then}")


async def test_extend_up_to_two_months_in_total(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    one = await client.post(f"/v1/requests/{created['id']}/extend",
                            json={"months": 1, "reason": "many systems"}, headers=agent)
    assert one.json()["extended_months"] == 1
    assert one.json()["due_at"] > created["due_at"]
    too_many = await client.post(f"/v1/requests/{created['id']}/extend",
                                 json={"months": 2, "reason": "still more"}, headers=agent)
    assert "1 month(s) remain" in assert_problem(too_many, 409)["detail"]
    two = await client.post(f"/v1/requests/{created['id']}/extend",
                            json={"months": 1, "reason": "partner slow"}, headers=agent)
    assert two.json()["extended_months"] == 2
    assert_problem(await client.post(f"/v1/requests/{created['id']}/extend",
                                     json={"months": 1, "reason": "again"}, headers=agent), 409)
    assert_problem(await client.post(f"/v1/requests/{created['id']}/extend",
                                     json={"months": 3, "reason": "x"}, headers=agent), 422)
    assert_problem(await client.post(f"/v1/requests/{created['id']}/extend",
                                     json={"months": 1}, headers=agent), 422)


async def test_audit_trail_records_every_transition(client, agent, auth) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    rid = created["id"]
    await client.post(f"/v1/requests/{rid}/verify", json={"method": "bankid"}, headers=agent)
    await client.post(f"/v1/requests/{rid}/extend", json={"months": 2, "reason": "x"},
                      headers=auth("agent", sub="bob"))
    await client.post(f"/v1/requests/{rid}/cancel", json={"note": "x"}, headers=agent)
    trail = (await client.get(f"/v1/requests/{rid}/events", headers=agent)).json()
    assert trail["chain_intact"] is True
    steps = [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in trail["events"]]
    assert steps == [
        ("created", None, "awaiting_verification", "test-agent"),
        ("verified", "awaiting_verification", "in_progress", "test-agent"),
        ("extended", "in_progress", "in_progress", "bob"),
        # the register's task had not been sent: cancelled with the request, and audited
        ("task_cancelled", "in_progress", "in_progress", "test-agent"),
        ("cancelled", "in_progress", "cancelled", "test-agent"),
    ]
    assert [e["seq"] for e in trail["events"]] == [1, 2, 3, 4, 5]


async def test_failed_action_changes_nothing(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{created['id']}/cancel", json={"note": "x"}, headers=agent)
    before = await count_rows(app, AuditEvent)
    await client.post(f"/v1/requests/{created['id']}/verify", json={"method": "x"}, headers=agent)
    assert await count_rows(app, AuditEvent) == before


async def test_list_filters_and_cursor_pagination(client, agent, auth) -> None:  # type: ignore[no-untyped-def]
    ids = [(await create(client, agent, agent_body(customer_number=f"C-20{i:02d}")))["id"]
           for i in range(7)]
    erasure = await create(client, agent, agent_body("erasure", customer_number="C-3000"))
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/requests?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=agent)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([*ids, erasure["id"]]) and len(seen) == len(set(seen))
    only = (await client.get("/v1/requests?type=erasure", headers=agent)).json()["items"]
    assert [i["id"] for i in only] == [erasure["id"]]
    by_customer = (await client.get("/v1/requests?customer_number=C-2003",
                                    headers=agent)).json()["items"]
    assert [i["id"] for i in by_customer] == [ids[3]]
    by_status = (await client.get("/v1/requests?status=in_progress", headers=agent)).json()
    assert by_status["items"] == []
    assert (await client.get("/v1/requests?overdue=true", headers=agent)).json()["items"] == []
    assert len((await client.get("/v1/requests?overdue=false&limit=100",
                                 headers=agent)).json()["items"]) == 8
    assert_problem(await client.get("/v1/requests?cursor=!!nonsense", headers=agent), 400)
    assert_problem(await client.get("/v1/requests?status=lost", headers=agent), 422)
    assert_problem(await client.get("/v1/requests?limit=0", headers=agent), 422)


async def test_overdue_is_visible_and_filterable(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.db import utcnow

    late = await create(client, agent, agent_body())
    await create(client, agent, agent_body())
    async with app.state.sessionmaker() as session, session.begin():
        row = await session.get(DsrRequest, __import__("uuid").UUID(late["id"]))
        row.due_at = utcnow() - timedelta(days=1)
    overdue = (await client.get("/v1/requests?overdue=true", headers=agent)).json()["items"]
    assert [i["id"] for i in overdue] == [late["id"]] and overdue[0]["overdue"] is True


async def test_idempotency_keys(client, agent, auth, app) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": "portal-submit-7f3a"}
    first = await client.post("/v1/requests", json=agent_body(), headers={**agent, **key})
    again = await client.post("/v1/requests", json=agent_body(), headers={**agent, **key})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = await client.post("/v1/requests", json=agent_body("erasure"),
                              headers={**agent, **key})
    assert_problem(other, 409)
    # another caller's identical key is its own
    bob = await client.post("/v1/requests", json=agent_body(),
                            headers={**auth("agent", sub="bob"), **key})
    assert bob.json()["id"] != first.json()["id"]
    assert await count_rows(app, DsrRequest) == 2
    assert await count_rows(app, IdempotencyKey) == 2


async def test_a_known_operator_is_spelled_as_the_registry_does(client, portal) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "portability",
                                            "details": {"receiving_operator": " telia "}})
    assert created["details"]["receiving_operator"] == "Telia"


async def test_the_stored_request_is_the_one_intake_answered_with(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """Intake writes the request as a row (no ORM flush): every column is the object's."""
    body = agent_body("rectification", identity_verification="bankid", language="en",
                      details={"changes": {"email": "ny@example.se"}})
    created = await create(client, agent, body)
    fetched = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert fetched == created
    async with app.state.sessionmaker() as session:
        stored = await session.get(DsrRequest, uuid.UUID(created["id"]))
    assert stored is not None
    assert (stored.type.value, stored.status.value, stored.language.value) == (
        "rectification", created["status"], "en")
    assert stored.details == {"changes": {"email": "ny@example.se"}}
    assert stored.verified_at == stored.received_at == stored.created_at
    assert (stored.extended_months, stored.answer_pending, stored.audit_seq) == (0, False, 1)
    chain = (await client.get(f"/v1/requests/{created['id']}/events", headers=agent)).json()
    assert chain["chain_intact"] is True


@pytest.mark.parametrize("until", ["9999-12-31", "2101-01-01", "2001-01-01"])
async def test_an_agent_completing_with_an_impossible_date_gets_422(client, agent, app, until) -> None:  # type: ignore[no-untyped-def]
    """until 9999-12-31 was a 500 (its deferred erasure, due the day after, overflowed)."""
    from app.connectors import base
    from app.services.dispatch import Dispatcher
    from tests.services.fakes import fakes

    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    connectors = fakes(crm=lambda call: base.manual("Erase it by hand."))
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    task = next(t for t in body["tasks"] if t["status"] == "manual")
    answer = await client.post(
        f"/v1/requests/{created['id']}/tasks/{task['id']}/complete", headers=agent, json={
            "outcome": "retained", "note": "Invoices kept.",
            "retained": [{"category": "invoices", "basis": "BFL 7 kap.", "until": until}]})
    assert_problem(answer, 422)
    assert answer.json()["errors"][0]["loc"] == ["body", "retained", 0, "until"]
    after = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert next(t for t in after["tasks"] if t["id"] == task["id"])["status"] == "manual"
    fine = await client.post(
        f"/v1/requests/{created['id']}/tasks/{task['id']}/complete", headers=agent, json={
            "outcome": "retained", "note": "Invoices kept.",
            "retained": [{"category": "invoices", "basis": "BFL 7 kap.",
                          "until": "2033-12-31"}]})
    assert fine.status_code == 200, fine.text
