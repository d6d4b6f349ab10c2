"""Partner webhooks: Standard Webhooks signatures, replay, tolerance, whose task it is."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from app.connectors import base
from app.main import create_app
from app.models import AuditEvent, TaskStatus
from app.services.dispatch import Dispatcher
from app.settings import dev_webhook_secret
from tests.conftest import make_settings
from tests.helpers import assert_problem, create
from tests.services.fakes import fakes


def signed(system: str, body: dict, *, secret: str | None = None, msg_id: str | None = None,  # type: ignore[type-arg]
           at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret or dev_webhook_secret(system)).sign(msg_id, at, raw)
    return raw.encode(), {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
                          "webhook-signature": signature, "content-type": "application/json"}


def completed(task_id: str, outcome: str = "done", subject: str = "SN-1") -> dict:  # type: ignore[type-arg]
    return {"subject_request_id": task_id, "request_status": "completed",
            "subject_identities": [{"identity_type": "controller_customer_id",
                                    "identity_value": subject}],
            "result": {"outcome": outcome, "summary": "Connection record exported.",
                       "data": {"connection": {"service_id": "SN-1"}}}}


@pytest.fixture
async def waiting(client, portal, agent, app) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """An access request whose stadsnät task awaits the partner's callback."""
    await client.put("/v1/links/C-1001/stadsnat", json={"external_id": "SN-1"}, headers=agent)
    await client.put("/v1/links/C-1001/eniro", json={"external_id": "HIT-1"}, headers=agent)
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(str(c.task_id)),
                       eniro=lambda c: base.awaiting_callback(str(c.task_id)))
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    tasks = {t["system"]: t for t in body["tasks"]}
    assert tasks["stadsnat"]["status"] == "awaiting_callback"
    return {"request": created["id"], "stadsnat": tasks["stadsnat"]["id"],
            "eniro": tasks["eniro"]["id"]}


async def audit_count(app) -> int:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def task_status(client, agent, request_id: str, system: str) -> str:  # type: ignore[no-untyped-def]
    body = (await client.get(f"/v1/requests/{request_id}", headers=agent)).json()
    return next(t["status"] for t in body["tasks"] if t["system"] == system)


async def test_signed_callback_is_applied_once(client, agent, app, waiting) -> None:  # type: ignore[no-untyped-def]
    raw, headers = signed("stadsnat", completed(waiting["stadsnat"]))
    first = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "applied"
    assert await task_status(client, agent, waiting["request"], "stadsnat") == "done"
    events = await audit_count(app)
    again = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert await audit_count(app) == events


async def test_callback_completes_request_when_last(client, agent, waiting) -> None:  # type: ignore[no-untyped-def]
    for system in ("stadsnat", "eniro"):
        raw, headers = signed(system, completed(
            waiting[system], "no_data", subject={"stadsnat": "SN-1", "eniro": "HIT-1"}[system]))
        assert (await client.post(f"/v1/webhooks/{system}", content=raw,
                                  headers=headers)).status_code == 200
    body = (await client.get(f"/v1/requests/{waiting['request']}", headers=agent)).json()
    assert body["status"] == "completed"


async def test_refused_callback_fails_the_task(client, agent, waiting) -> None:  # type: ignore[no-untyped-def]
    body = {**completed(waiting["stadsnat"]),
            "result": {"outcome": "refused", "reason": "Subject under legal hold."}}
    raw, headers = signed("stadsnat", body)
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)).json()[
        "status"] == "applied"
    request = (await client.get(f"/v1/requests/{waiting['request']}", headers=agent)).json()
    stadsnat = next(t for t in request["tasks"] if t["system"] == "stadsnat")
    assert stadsnat["status"] == "failed" and stadsnat["last_error"]
    assert request["status"] == "action_required"


@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "stale", "future", "tampered",
                                  "bad_signature_format"])
async def test_bad_signatures_are_401_and_change_nothing(client, agent, app, waiting, case) -> None:  # type: ignore[no-untyped-def]
    body = completed(waiting["stadsnat"])
    if case == "wrong_secret":
        raw, headers = signed("stadsnat", body, secret=dev_webhook_secret("eniro"))
    elif case == "stale":
        raw, headers = signed("stadsnat", body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "future":
        raw, headers = signed("stadsnat", body, at=datetime.now(UTC) + timedelta(minutes=6))
    else:
        raw, headers = signed("stadsnat", body)
        if case == "unsigned":
            headers = {"content-type": "application/json"}
        elif case == "tampered":
            raw = raw.replace(b'"done"', b'"no_data"')
        else:
            headers["webhook-signature"] = "v1-garbage"
    events = await audit_count(app)
    response = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert_problem(response, 401)
    assert await task_status(client, agent, waiting["request"], "stadsnat") == "awaiting_callback"
    assert await audit_count(app) == events


async def test_stale_replay_of_a_good_delivery_is_refused(client, waiting) -> None:  # type: ignore[no-untyped-def]
    old = datetime.now(UTC) - timedelta(minutes=10)
    raw, headers = signed("stadsnat", completed(waiting["stadsnat"]), at=old)
    assert_problem(await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers), 401)


async def test_partner_cannot_report_on_another_partners_task(client, agent, waiting) -> None:  # type: ignore[no-untyped-def]
    raw, headers = signed("eniro", completed(waiting["stadsnat"]))
    assert_problem(await client.post("/v1/webhooks/eniro", content=raw, headers=headers), 404)
    assert await task_status(client, agent, waiting["request"], "stadsnat") == "awaiting_callback"


async def test_unknown_task_and_bad_bodies_are_clear_4xx(client, waiting) -> None:  # type: ignore[no-untyped-def]
    raw, headers = signed("stadsnat", completed(str(uuid.uuid4())))
    assert_problem(await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers), 404)
    raw, headers = signed("stadsnat", {"subject_request_id": "not-a-uuid"})
    assert_problem(await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers), 400)
    raw, headers = signed("stadsnat", {"subject_request_id": waiting["stadsnat"],
                                       "request_status": "completed",
                                       "result": {"outcome": "exploded"}})
    assert_problem(await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers), 400)
    raw, headers = signed("stadsnat", [1, 2])  # type: ignore[arg-type]
    assert_problem(await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers), 400)
    raw, headers = signed("crm", completed(waiting["stadsnat"]))
    assert_problem(await client.post("/v1/webhooks/crm", content=raw, headers=headers), 404)
    raw, headers = signed("stadsnat", completed(waiting["stadsnat"]))
    assert_problem(await client.post("/v1/webhooks/nowhere", content=raw, headers=headers), 404)


async def test_progress_report_changes_nothing(client, agent, waiting) -> None:  # type: ignore[no-untyped-def]
    raw, headers = signed("stadsnat", {"subject_request_id": waiting["stadsnat"],
                                       "request_status": "in_progress"})
    response = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert response.json()["status"] == "ignored"
    assert await task_status(client, agent, waiting["request"], "stadsnat") == "awaiting_callback"


async def test_key_rotation_accepts_old_and_new_secret(database_url) -> None:  # type: ignore[no-untyped-def]
    old, new = dev_webhook_secret("old"), dev_webhook_secret("new")
    settings = make_settings(database_url, stadsnat_webhook_secret=f"{old} {new}")
    application = create_app(settings)
    import httpx

    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://dsr.test"
    ) as http:
        for secret in (old, new):
            raw, headers = signed("stadsnat", completed(str(uuid.uuid4())), secret=secret)
            # signature accepted: the unknown task is what is refused
            assert (await http.post("/v1/webhooks/stadsnat", content=raw,
                                    headers=headers)).status_code == 404
        raw, headers = signed("stadsnat", completed(str(uuid.uuid4())))
        assert (await http.post("/v1/webhooks/stadsnat", content=raw,
                                headers=headers)).status_code == 401


async def test_callback_overtaking_the_worker_is_kept(client, agent, app, portal) -> None:  # type: ignore[no-untyped-def]
    """A fast partner may call back before the worker has recorded "awaiting_callback"."""
    await client.put("/v1/links/C-1001/stadsnat", json={"external_id": "SN-1"}, headers=agent)
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(str(c.task_id)))
    dispatcher = Dispatcher(app.state.settings, app.state.sessionmaker, connectors)
    claimed = [c for c in await dispatcher.claim(10) if c.call.system == "stadsnat"]
    raw, headers = signed("stadsnat", completed(str(claimed[0].call.task_id)))
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)).json()[
        "status"] == "applied"
    await dispatcher.run_one(claimed[0])  # its late "awaiting_callback" must not undo "done"
    assert await task_status(client, agent, created["id"], "stadsnat") == TaskStatus.done


def kept_until(task_id: str, until: str) -> dict:  # type: ignore[type-arg]
    return {**completed(task_id), "result": {
        "outcome": "retained", "summary": "Kept by law.",
        "retained": [{"category": "connection log", "basis": "LEK 9 kap.", "until": until}]}}


@pytest.mark.parametrize("until", ["9999-12-31", "2101-01-01", "2001-01-01"])
async def test_an_impossible_retained_date_fails_the_task_with_a_reason(client, portal, agent, app, until) -> None:  # type: ignore[no-untyped-def]
    """9999-12-31 was a 500 (the deferred erasure, due the day after, overflowed) and the task
    waited on; any date outside [the day the request was received, 2100-12-31] fails it."""
    await client.put("/v1/links/C-1001/stadsnat", json={"external_id": "SN-1"}, headers=agent)
    created = await create(client, portal, {"type": "erasure"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(str(c.task_id)))
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    task_id = next(t["id"] for t in body["tasks"] if t["system"] == "stadsnat")
    raw, headers = signed("stadsnat", kept_until(task_id, until))
    answer = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert answer.status_code == 200, answer.text
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    stadsnat = next(t for t in body["tasks"] if t["system"] == "stadsnat")
    assert stadsnat["status"] == "failed"
    assert "until date" in stadsnat["last_error"] and until not in stadsnat["last_error"]
    assert not any(t["action"] == "erase_retained" for t in body["tasks"])
    assert body["status"] == "action_required"


async def test_a_callback_for_a_task_never_sent_is_not_applied(client, portal, agent, app, waiting) -> None:  # type: ignore[no-untyped-def]
    """An erasure's stadsnät task queued behind the access request's (attempts 0, never sent)
    was completed by a signed callback, and the answer said stadsnät had erased. Only a task
    at the partner in the round named is completed; this one is answered 2xx, not applied."""
    erasure = await create(client, portal, {"type": "erasure"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(str(c.task_id)),
                       eniro=lambda c: base.awaiting_callback(str(c.task_id)))
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    before = (await client.get(f"/v1/requests/{erasure['id']}", headers=agent)).json()
    queued = next(t for t in before["tasks"] if t["system"] == "stadsnat")
    assert queued["status"] == "pending" and queued["attempts"] == 0
    events = await audit_count(app)
    for ref in (queued["id"], f"{queued['id']}.1"):  # this round, and a round not yet begun
        raw, headers = signed("stadsnat", completed(ref, "no_data"))
        answer = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
        assert answer.status_code == 200 and answer.json() == {
            "status": "ignored", "task_id": queued["id"]}
        again = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
        assert again.json()["status"] == "duplicate"
    after = (await client.get(f"/v1/requests/{erasure['id']}", headers=agent)).json()
    assert after == before  # the task, its outcome and the request are as they were
    async with app.state.sessionmaker() as session:
        noted = (await session.scalars(select(AuditEvent).where(
            AuditEvent.action == "callback_not_applied",
            AuditEvent.request_id == uuid.UUID(erasure["id"])))).all()
    assert len(noted) == 2 and await audit_count(app) == events + 2
    assert [event.data["why"] for event in noted] == [
        "the task was not sent to the partner in that round"] * 2
    # once the access request's callback frees the queue, the task is sent and answered
    raw, headers = signed("stadsnat", completed(waiting["stadsnat"]))
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)).json()[
        "status"] == "applied"
    await Dispatcher(app.state.settings, app.state.sessionmaker, connectors).run_until_idle()
    assert await task_status(client, agent, erasure["id"], "stadsnat") == "awaiting_callback"
    raw, headers = signed("stadsnat", completed(queued["id"], "no_data"))
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)).json()[
        "status"] == "applied"
    assert await task_status(client, agent, erasure["id"], "stadsnat") == "no_data"
