"""Who may download, the audit trail, the 30-day retention and the purge that follows it."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.answers import builder, purge
from app.db import utcnow
from app.errors import TransientError
from app.models import AuditEvent, ResponseChunk, ResponsePackage, TaskResult
from tests.helpers import agent_body, assert_problem, create
from tests.responses.conftest import access_behaviours, connectors, download, finish


async def _events(app, request_id: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == uuid.UUID(request_id))
            .order_by(AuditEvent.seq)))


async def test_only_the_customer_and_staff_may_download(app, client, portal, agent, auth) -> None:  # type: ignore[no-untyped-def]
    body = await finish(app, client, portal, {"type": "access"},
                        connectors(**access_behaviours()))
    url = f"/v1/requests/{body['id']}/response"
    first = await download(client, portal, body["id"])
    again = await download(client, agent, body["id"])
    assert first.read("manifest.json") == again.read("manifest.json")  # built once
    assert_problem(await client.get(url, headers=auth("portal", "C-1002")), 404)
    assert_problem(await client.get(f"/v1/requests/{uuid.uuid4()}/response", headers=agent),
                   404)
    assert_problem(await client.get(url), 401)
    downloads = [e for e in await _events(app, body["id"]) if e.action == "response_downloaded"]
    assert [(e.actor, e.actor_role) for e in downloads] == [("test-portal", "portal"),
                                                             ("test-agent", "agent")]
    assert {e.data["sha256"] for e in downloads} == {
        (await client.get(f"/v1/requests/{body['id']}", headers=agent)).json()["response"]
        ["sha256"]}
    chain = (await client.get(f"/v1/requests/{body['id']}/events", headers=agent)).json()
    assert chain["chain_intact"] is True


async def test_no_response_before_the_end_and_a_cancelled_request_says_nothing_was_done(  # type: ignore[no-untyped-def]
    app, client, agent
) -> None:
    created = await create(client, agent, agent_body())
    assert created["response_url"] is None
    assert_problem(await client.get(f"/v1/requests/{created['id']}/response", headers=agent),
                   409)
    await client.post(f"/v1/requests/{created['id']}/cancel", json={"note": "withdrawn"},
                      headers=agent)
    app.state.connectors = connectors()
    package = await download(client, agent, created["id"])
    result = json.loads(package.read("result.json"))
    assert result["outcome"] == "cancelled"
    assert result["cancellation"]["carried_out"] == []
    # Art. 12(6): cancelled before identity was verified, the answer names no system at all.
    assert result["systems"] == [] and result["retained"] == []
    assert [c["claim"] for c in result["claims"]] == ["closed.unverified"]
    html = package.read("report.html").decode()
    assert "innan vi hade kunnat bekräfta din identitet" in html
    assert not any(name in html for name in ("Fortnox", "Stadsnät", "kundregister"))


async def test_expiry_purges_the_file_but_keeps_its_sha256(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    body = await finish(app, client, portal, {"type": "access"},
                        connectors(**access_behaviours()))
    await download(client, portal, body["id"])
    shown = (await client.get(f"/v1/requests/{body['id']}", headers=portal)).json()
    info = shown["response"]
    assert info["purged_at"] is None
    created, expires = (utcnow().fromisoformat(info[k]) for k in ("created_at", "expires_at"))
    assert expires - created == timedelta(days=30)

    async with app.state.sessionmaker() as session, session.begin():
        early = await purge.purge_expired(session, utcnow() + timedelta(days=29))
    assert early["packages"] == 0
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge.purge_expired(session, utcnow() + timedelta(days=31))
    assert counts["packages"] == 1
    request_id = uuid.UUID(body["id"])
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(
            select(ResponseChunk).where(ResponseChunk.request_id == request_id))) == []
        assert list(await session.scalars(
            select(TaskResult).where(TaskResult.request_id == request_id))) == []
        package = await session.get(ResponsePackage, request_id)
        assert package is not None and package.purged_at is not None
    after = (await client.get(f"/v1/requests/{body['id']}", headers=portal)).json()
    assert after["response"]["sha256"] == info["sha256"]
    assert after["response"]["purged_at"] and after["response_url"] is None
    gone = assert_problem(await client.get(f"/v1/requests/{body['id']}/response",
                                           headers=portal), 410)
    assert info["sha256"] in gone["detail"]
    assert "response_purged" in {e.action for e in await _events(app, body["id"])}
    async with app.state.sessionmaker() as session, session.begin():
        assert (await purge.purge_expired(session, utcnow() + timedelta(days=60))) == {
            "packages": 0, "task_results": 0}


async def test_partner_answers_of_cancelled_requests_are_purged(app, client, portal, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "access"})
    async with app.state.sessionmaker() as session, session.begin():
        session.add(TaskResult(task_id=uuid.UUID(created["tasks"][0]["id"]),
                               request_id=uuid.UUID(created["id"]), ciphertext=b"x"))
    await client.post(f"/v1/requests/{created['id']}/cancel", json={"note": "withdrawn"},
                      headers=agent)
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge.purge_expired(session, utcnow())
    assert counts == {"packages": 0, "task_results": 1}


async def test_worker_builds_pending_packages_and_retries_later(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    made = connectors(**access_behaviours())
    body = await finish(app, client, portal, {"type": "access"}, made)

    async def broken(link: str):  # type: ignore[no-untyped-def]
        raise TransientError("crm could not be reached")
        yield []

    made["crm"].iter_call_history = broken
    args = {"connectors": made, "vault": app.state.vault, "settings": app.state.settings}
    assert await builder.build_pending(app.state.sessionmaker, **args) == 0
    problem = assert_problem(
        await client.get(f"/v1/requests/{body['id']}/response", headers=portal), 503)
    assert "Astrid" not in problem["detail"]
    assert (await client.get(f"/v1/requests/{body['id']}", headers=portal)).json()[
        "response"] is None
    made["crm"].iter_call_history = connectors()["crm"].iter_call_history
    assert await builder.build_pending(app.state.sessionmaker, **args) == 1
    assert await builder.build_pending(app.state.sessionmaker, **args) == 0
    shown = (await client.get(f"/v1/requests/{body['id']}", headers=portal)).json()
    assert shown["response"]["size"] > 0
    events = await _events(app, body["id"])
    assert sum(e.action == "response_built" for e in events) == 1


async def test_two_builders_racing_store_one_package(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    made = connectors(**access_behaviours())
    body = await finish(app, client, portal, {"type": "access"}, made)
    args = {"connectors": made, "vault": app.state.vault, "settings": app.state.settings}
    first, second = await asyncio.gather(
        builder.ensure_package(app.state.sessionmaker, uuid.UUID(body["id"]), **args),
        builder.ensure_package(app.state.sessionmaker, uuid.UUID(body["id"]), **args))
    assert first.sha256 == second.sha256
    events = await _events(app, body["id"])
    assert sum(e.action == "response_built" for e in events) == 1
    package = await download(client, portal, body["id"])
    assert package.testzip() is None


async def test_answers_built_together_are_stored_together_each_its_own(  # type: ignore[no-untyped-def]
    app, client, portal, auth, monkeypatch,
) -> None:
    """The worker reads the inputs of the answers due together and stores them in one
    transaction; each package still holds its own request and customer, and nobody else's."""
    made = connectors(**access_behaviours())
    first = await finish(app, client, portal, {"type": "access"}, made)
    other = auth("portal", "C-1002")
    second = await finish(app, client, other, {"type": "access"}, made)
    sessions = []
    original = builder.store

    async def store(session, request, built, **kw):  # type: ignore[no-untyped-def]
        sessions.append(session)
        return await original(session, request, built, **kw)

    monkeypatch.setattr(builder, "store", store)
    args = {"connectors": made, "vault": app.state.vault, "settings": app.state.settings}
    assert await builder.build_pending(app.state.sessionmaker, **args) == 2
    assert len(sessions) == 2 and sessions[0] is sessions[1]  # one transaction
    for body, headers, customer in ((first, portal, "C-1001"), (second, other, "C-1002")):
        data = json.loads((await download(client, headers, body["id"])).read("data.json"))
        assert (data["request"]["id"], data["request"]["customer_number"]) == (
            body["id"], customer)
        events = await _events(app, body["id"])
        assert sum(e.action == "response_built" for e in events) == 1


async def test_an_answer_that_cannot_be_stored_holds_back_none_of_the_others(  # type: ignore[no-untyped-def]
    app, client, portal, auth, monkeypatch,
) -> None:
    made = connectors(**access_behaviours())
    failing = await finish(app, client, portal, {"type": "access"}, made)
    fine = await finish(app, client, auth("portal", "C-1002"), {"type": "access"}, made)
    original = builder.store

    async def store(session, request, built, **kw):  # type: ignore[no-untyped-def]
        if str(request.id) == failing["id"]:
            raise RuntimeError("disk full")
        return await original(session, request, built, **kw)

    monkeypatch.setattr(builder, "store", store)
    args = {"connectors": made, "vault": app.state.vault, "settings": app.state.settings}
    assert await builder.build_pending(app.state.sessionmaker, **args) == 1
    shown = {body["id"]: (await client.get(f"/v1/requests/{body['id']}", headers=auth("agent")))
             .json()["response"] for body in (failing, fine)}
    assert shown[failing["id"]] is None and shown[fine["id"]]["size"] > 0
    monkeypatch.setattr(builder, "store", original)
    assert await builder.build_pending(app.state.sessionmaker, **args) == 1  # left pending
    assert (await client.get(f"/v1/requests/{failing['id']}", headers=auth("agent"))).json()[
        "response"]["size"] > 0


async def test_building_stops_at_the_next_answer_once_told_to(app, client, portal, auth) -> None:  # type: ignore[no-untyped-def]
    """The worker builds every answer pending only while nothing is in flight: told to stop,
    it stores what it built and leaves the rest pending, for the next round."""
    made = connectors(**access_behaviours())
    first = await finish(app, client, portal, {"type": "access"}, made)
    second = await finish(app, client, auth("portal", "C-1002"), {"type": "access"}, made)
    args = {"connectors": made, "vault": app.state.vault, "settings": app.state.settings}
    assert await builder.build_pending(app.state.sessionmaker, keep_going=lambda: False,
                                         **args) == 1
    shown = [(await client.get(f"/v1/requests/{body['id']}", headers=auth("agent"))).json()[
        "response"] for body in (first, second)]
    assert sum(info is not None for info in shown) == 1
    assert await builder.build_pending(app.state.sessionmaker, **args) == 1
