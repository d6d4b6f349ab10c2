"""Art. 18(3): no system lifts a restriction before the customer's notice was delivered (the
portal acknowledged it, or an agent sent the letter) and ``DSR_LIFT_NOTICE_S`` has passed;
a notice given up lifts nothing; the notice letter is stored before any lift; no
notification carries an agent's free text.

Time is moved by giving the dispatcher's claim a later clock (``later``): the notice period is
counted in real time, so nothing else may shorten it (``dsr retention run --as-of`` either).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.answers import builder
from app.answers import inputs as answer_inputs
from app.answers.content import PackageError
from app.db import utcnow
from app.dispatch import job as dispatch_job
from app.main import create_app
from app.models import (
    AuditEvent,
    DsrRequest,
    Notification,
    NotificationStatus,
    ResponsePackage,
    Task,
    TaskStatus,
)
from app.notifications import delivery, outbox
from app.services import lift
from app.services.dispatch import Dispatcher
from app.settings import Settings
from tests.conftest import clear_tables, make_settings
from tests.helpers import agent_body, assert_problem, create
from tests.services.fakes import FakeConnector, fakes
from tests.services.test_dispatch import link

PORTAL_SECRET = "whsec_" + "cG9ydGFsLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="
NOTICE_S = 3600.0
REASON = "Adressen är kontrollerad och rättad hos Anna Andersson"
PORTAL = {"portal_webhook_url": "https://portal.test/dsr",
          "portal_webhook_secret": PORTAL_SECRET}


def settings_for(app: Any, **over: Any) -> Settings:
    return make_settings(app.state.settings.database_url, lift_notice_s=NOTICE_S,
                         retry_base_s=0.01, retry_max_s=0.02, **over)


def worker(app: Any, connectors: dict[str, Any], **over: Any) -> Dispatcher:
    return Dispatcher(settings_for(app, **over), app.state.sessionmaker, connectors)


@pytest.fixture
async def portal_app(database_url: str) -> AsyncIterator[Any]:
    """The service with a portal configured (notifications on)."""
    application = create_app(make_settings(database_url, lift_notice_s=NOTICE_S, **PORTAL))
    async with application.router.lifespan_context(application):
        yield application
    await clear_tables(database_url)


@pytest.fixture
async def portal_client(portal_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=portal_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dsr.test") as http:
        yield http


class Portal:
    """The portal backend: acknowledges every notification, or refuses the lift notice."""

    def __init__(self, app: Any, *, refuse_notice: bool = False, **over: Any) -> None:
        self.app, self.refuse_notice, self.over = app, refuse_notice, over
        self.bodies: list[dict[str, Any]] = []

    def _answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if self.refuse_notice and body["type"] == lift.NOTICE_EVENT:
            return httpx.Response(503)
        return httpx.Response(204)

    async def deliver(self) -> None:
        settings = settings_for(self.app, **PORTAL, **self.over)
        async with httpx.AsyncClient(transport=httpx.MockTransport(self._answer)) as http:
            notifier = delivery.Notifier(settings, self.app.state.sessionmaker, http)
            for _ in range(10):
                await notifier.deliver_due()


def later(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """The dispatcher's claim sees ``at`` as the time (real time for everything else)."""
    monkeypatch.setattr(dispatch_job, "utcnow", lambda: at)


def lifts_sent(connectors: dict[str, Any]) -> list[str]:
    return [name for name, connector in connectors.items() if isinstance(connector, FakeConnector)
            for call in connector.calls if call.action == lift.LIFT_ACTION]


async def restricted(app: Any, client: httpx.AsyncClient, agent: dict[str, str],
                     connectors: dict[str, Any]) -> str:
    """A completed restriction at crm and Fortnox, its first answer stored."""
    await link(client, agent, "C-1001", "fortnox", "1001")
    created = await create(client, agent, agent_body(
        "restriction", identity_verification="bankid",
        details={"grounds": "accuracy_contested"}))
    d = worker(app, connectors)
    await d.run_until_idle()
    await d.build_responses()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "completed", body
    request_id: str = created["id"]
    return request_id


async def ask_lift(client: httpx.AsyncClient, agent: dict[str, str],
                   request_id: str) -> dict[str, Any]:
    response = await client.post(f"/v1/requests/{request_id}/lift", json={"reason": REASON},
                                 headers=agent)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rows(app: Any, request_id: str) -> tuple[DsrRequest, list[Task], list[AuditEvent]]:
    async with app.state.sessionmaker() as session:
        request = await session.get(DsrRequest, uuid.UUID(request_id))
        assert request is not None
        tasks = list(await session.scalars(select(Task).where(Task.request_id == request.id)))
        events = list(await session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == request.id).order_by(AuditEvent.seq)))
        return request, tasks, events


def by_action(tasks: list[Task], action: str) -> list[Task]:
    return [task for task in tasks if task.action == action]


async def notices(app: Any, request_id: str) -> list[Notification]:
    async with app.state.sessionmaker() as session:
        return [n for n in await outbox.for_request(session, uuid.UUID(request_id))
                if n.event == lift.NOTICE_EVENT]


async def letter(app: Any, request_id: str) -> ResponsePackage | None:
    async with app.state.sessionmaker() as session:
        return await session.get(ResponsePackage, uuid.UUID(request_id))


# -- portal configured, the notice delivered ----------------------------------------------------


async def test_no_system_lifts_before_the_notice_is_delivered_and_the_period_passed(
    portal_app: Any, portal_client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, client, connectors = portal_app, portal_client, fakes()
    request_id = await restricted(app, client, agent, connectors)
    portal = Portal(app)
    await portal.deliver()
    first = await letter(app, request_id)
    assert first is not None

    lifting = await ask_lift(client, agent, request_id)
    assert lifting["status"] == "in_progress"
    shown = {(t["system"], t["action"]): t for t in lifting["tasks"]}
    assert {key: t["status"] for key, t in shown.items() if "lift" in key[1]} == {
        ("crm", "lift_restriction"): "scheduled", ("fortnox", "lift_restriction"): "scheduled",
        ("crm", "lift_notice"): "scheduled"}
    assert all(t["scheduled_for"] is None for key, t in shown.items() if "lift" in key[1])
    far = utcnow() + timedelta(days=30)

    # Nothing is told before the letter exists, and nothing lifts, however late it is.
    d = worker(app, connectors)
    later(monkeypatch, far)
    await d.run_until_idle()
    monkeypatch.undo()
    await portal.deliver()
    assert await notices(app, request_id) == [] and lifts_sent(connectors) == []
    assert await letter(app, request_id) is None  # the first answer was superseded

    # The letter is built and stored; then the notice goes to the portal.
    await d.build_responses()
    stored = await letter(app, request_id)
    request, _tasks, _events = await rows(app, request_id)
    assert stored is not None and request.lift_requested_at is not None
    assert stored.created_at >= request.lift_requested_at and stored.sha256 != first.sha256
    (queued,) = await notices(app, request_id)
    assert queued.status is NotificationStatus.pending
    later(monkeypatch, far)
    await d.run_until_idle()  # queued is not delivered
    monkeypatch.undo()
    assert lifts_sent(connectors) == []

    await portal.deliver()
    (delivered,) = await notices(app, request_id)
    assert delivered.status is NotificationStatus.delivered and delivered.delivered_at
    request, tasks, events = await rows(app, request_id)
    lift_from = delivered.delivered_at + timedelta(seconds=NOTICE_S)
    assert {t.scheduled_for for t in by_action(tasks, lift.LIFT_ACTION)} == {lift_from}
    (notice,) = by_action(tasks, lift.NOTICE_ACTION)
    assert notice.status is TaskStatus.done
    (recorded,) = [e for e in events if e.action == "lift_notice_delivered"]
    assert recorded.data["via"] == "portal"
    assert recorded.data["delivered_at"] == delivered.delivered_at.isoformat()
    assert recorded.data["lift_from"] == lift_from.isoformat()
    assert request.status == "in_progress"

    # A second before the period ends: still nothing.
    later(monkeypatch, lift_from - timedelta(seconds=1))
    await d.run_until_idle()
    assert lifts_sent(connectors) == []
    later(monkeypatch, lift_from + timedelta(seconds=1))
    await d.run_until_idle()
    monkeypatch.undo()
    assert sorted(lifts_sent(connectors)) == ["crm", "fortnox"]
    request, tasks, events = await rows(app, request_id)
    assert request.status == "completed"
    assert {t.status for t in by_action(tasks, lift.LIFT_ACTION)} == {TaskStatus.done}
    # the letter was stored before the first system lifted anything
    first_lift = min(e.at for e in events if e.data.get("task_action") == lift.LIFT_ACTION)
    built = [e.at for e in events if e.action == "response_built"]
    assert built[-1] < recorded.at < first_lift
    assert (await letter(app, request_id)) is not None


async def test_the_notice_letter_states_the_notice_period(
    portal_app: Any, portal_client: httpx.AsyncClient, agent: dict[str, str],
) -> None:
    app, client, connectors = portal_app, portal_client, fakes()
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)
    async with app.state.sessionmaker() as session:
        request = await session.get(DsrRequest, uuid.UUID(request_id))
        assert request is not None
        inputs = await answer_inputs.load_inputs(session, request, app.state.vault,
                                             lift_notice_s=NOTICE_S)
    assert inputs.request.lift == {
        "reason": REASON, "requested_at": request.lift_requested_at.isoformat()
        if request.lift_requested_at else None,
        "notice_delivered_at": None, "lift_from": None, "notice_period_s": NOTICE_S}


async def notice_given_up(app: Any, client: httpx.AsyncClient, agent: dict[str, str],
                          connectors: dict[str, Any]) -> tuple[str, Dispatcher]:
    """A completed restriction asked to be lifted, its letter built, and the portal's notice
    given up after the portal refused it: the request id and the worker."""
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)
    d = worker(app, connectors)
    await d.build_responses()
    await Portal(app, refuse_notice=True, notify_give_up_s=0.001).deliver()
    return request_id, d


# -- portal configured, the notice given up ------------------------------------------------------


async def test_a_notice_given_up_lifts_nothing_and_needs_an_agent(
    portal_app: Any, portal_client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, client, connectors = portal_app, portal_client, fakes()
    request_id, d = await notice_given_up(app, client, agent, connectors)
    (given_up,) = await notices(app, request_id)
    assert given_up.status is NotificationStatus.failed

    later(monkeypatch, utcnow() + timedelta(days=30))
    await d.run_until_idle()
    monkeypatch.undo()
    assert lifts_sent(connectors) == []
    body = (await client.get(f"/v1/requests/{request_id}", headers=agent)).json()
    assert body["status"] == "action_required"
    (notice,) = [t for t in body["tasks"] if t["action"] == "lift_notice"]
    assert notice["status"] == "failed" and "never acknowledged" in notice["last_error"]
    assert {t["status"] for t in body["tasks"] if t["action"] == "lift_restriction"} == {
        "scheduled"}
    assert all(t["scheduled_for"] is None for t in body["tasks"]
               if t["action"] == "lift_restriction")
    trail = (await client.get(f"/v1/requests/{request_id}/events", headers=agent)).json()
    actions = [e["action"] for e in trail["events"]]
    assert "notification_failed" in actions and "lift_notice_delivered" not in actions
    waiting = [e for e in trail["events"] if e["action"] == "request_action_required"][-1]
    assert waiting["data"]["waiting_on"][0]["task_id"] == notice["id"]
    assert "never acknowledged" in waiting["data"]["waiting_on"][0]["reason"]

    # The agent retries it: the portal is told again, and this time acknowledges.
    retried = await client.post(f"/v1/requests/{request_id}/tasks/{notice['id']}/retry",
                                headers=agent)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "in_progress"
    await Portal(app).deliver()
    latest = (await notices(app, request_id))[-1]
    assert latest.id != given_up.id and latest.status is NotificationStatus.delivered
    assert latest.delivered_at is not None
    later(monkeypatch, latest.delivered_at + timedelta(seconds=NOTICE_S + 1))
    await d.run_until_idle()
    monkeypatch.undo()
    assert sorted(lifts_sent(connectors)) == ["crm", "fortnox"]


async def test_a_notice_given_up_can_be_sent_by_an_agent(
    portal_app: Any, portal_client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, client, connectors = portal_app, portal_client, fakes()
    request_id, d = await notice_given_up(app, client, agent, connectors)
    _request, tasks, _events = await rows(app, request_id)
    (notice,) = by_action(tasks, lift.NOTICE_ACTION)
    done = await client.post(f"/v1/requests/{request_id}/tasks/{notice.id}/complete",
                             json={"outcome": "done", "note": "Sent by post"}, headers=agent)
    assert done.status_code == 200, done.text
    request, tasks, events = await rows(app, request_id)
    assert request.status == "in_progress"
    (recorded,) = [e for e in events if e.action == "lift_notice_delivered"]
    assert recorded.data["via"] == "agent"
    lift_from = datetime.fromisoformat(recorded.data["lift_from"])
    later(monkeypatch, lift_from - timedelta(seconds=1))
    await d.run_until_idle()
    assert lifts_sent(connectors) == []
    later(monkeypatch, lift_from + timedelta(seconds=1))
    await d.run_until_idle()
    assert sorted(lifts_sent(connectors)) == ["crm", "fortnox"]


# -- no portal: the agent sends the letter -------------------------------------------------------


async def test_without_a_portal_an_agent_sends_the_notice_then_the_period_runs(
    app: Any, client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connectors = fakes()
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)
    d = worker(app, connectors)
    await d.build_responses()
    body = (await client.get(f"/v1/requests/{request_id}", headers=agent)).json()
    assert body["status"] == "action_required"
    (notice,) = [t for t in body["tasks"] if t["action"] == "lift_notice"]
    assert (notice["system"], notice["status"]) == ("crm", "manual")
    assert "Send the customer the notice" in notice["outcome"]["summary"]
    later(monkeypatch, utcnow() + timedelta(days=30))
    await d.run_until_idle()
    monkeypatch.undo()
    assert lifts_sent(connectors) == []

    complete = f"/v1/requests/{request_id}/tasks/{notice['id']}/complete"
    assert_problem(await client.post(complete, json={"outcome": "no_data", "note": "x"},
                                     headers=agent), 409)
    sent = await client.post(complete, json={"outcome": "done", "note": "Letter posted"},
                             headers=agent)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "in_progress"
    _request, tasks, events = await rows(app, request_id)
    (done,) = by_action(tasks, lift.NOTICE_ACTION)
    assert done.status is TaskStatus.done and done.finished_at is not None
    lift_from = done.finished_at + timedelta(seconds=NOTICE_S)
    assert {t.scheduled_for for t in by_action(tasks, lift.LIFT_ACTION)} == {lift_from}
    (recorded,) = [e for e in events if e.action == "lift_notice_delivered"]
    assert (recorded.data["via"], recorded.data["lift_from"]) == ("agent", lift_from.isoformat())

    later(monkeypatch, lift_from - timedelta(seconds=1))
    await d.run_until_idle()
    assert lifts_sent(connectors) == []
    later(monkeypatch, lift_from + timedelta(seconds=1))
    await d.run_until_idle()
    monkeypatch.undo()
    assert sorted(lifts_sent(connectors)) == ["crm", "fortnox"]
    assert (await client.get(f"/v1/requests/{request_id}", headers=agent)).json()[
        "status"] == "completed"


async def test_no_lift_while_the_letter_cannot_be_built(
    app: Any, client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connectors = fakes()
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise PackageError("the register is unreachable")

    monkeypatch.setattr(builder, "build_zip", broken)
    d = worker(app, connectors)
    await d.build_responses()
    later(monkeypatch, utcnow() + timedelta(days=30))
    await d.run_until_idle()
    monkeypatch.undo()
    assert lifts_sent(connectors) == [] and await letter(app, request_id) is None
    request, tasks, _events = await rows(app, request_id)
    (notice,) = by_action(tasks, lift.NOTICE_ACTION)
    assert notice.status is TaskStatus.scheduled and request.answer_pending
    # the agent cannot start the notice period either: there is no letter to send
    assert_problem(await client.post(
        f"/v1/requests/{request_id}/tasks/{notice.id}/complete",
        json={"outcome": "done", "note": "x"}, headers=agent), 409)
    await d.build_responses()  # the register answers again
    assert await letter(app, request_id) is not None
    _request, tasks, _events = await rows(app, request_id)
    assert by_action(tasks, lift.NOTICE_ACTION)[0].status is TaskStatus.manual


async def letter_sent_by_agent(app: Any, client: httpx.AsyncClient, agent: dict[str, str],
                               connectors: dict[str, Any]) -> tuple[str, Dispatcher]:
    """Without a portal: a lift asked for, its letter built, and the agent's notice task
    completed (the letter posted): the request id and the worker."""
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)
    d = worker(app, connectors)
    await d.build_responses()
    _request, tasks, _events = await rows(app, request_id)
    (notice,) = by_action(tasks, lift.NOTICE_ACTION)
    sent = await client.post(f"/v1/requests/{request_id}/tasks/{notice.id}/complete",
                             json={"outcome": "done", "note": "Letter posted"}, headers=agent)
    assert sent.status_code == 200, sent.text
    return request_id, d


async def test_a_simulated_date_does_not_shorten_the_notice_period(
    app: Any, client: httpx.AsyncClient, agent: dict[str, str],
) -> None:
    connectors = fakes()
    await letter_sent_by_agent(app, client, agent, connectors)
    future = Dispatcher(settings_for(app), app.state.sessionmaker, connectors,
                        as_of=date.today() + timedelta(days=30))
    await future.run_until_idle()
    assert lifts_sent(connectors) == []


async def test_cancelling_during_the_notice_period_lifts_nothing(
    app: Any, client: httpx.AsyncClient, agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connectors = fakes()
    request_id, d = await letter_sent_by_agent(app, client, agent, connectors)
    cancelled = await client.post(f"/v1/requests/{request_id}/cancel",
                                  json={"note": "The customer asked us to keep it"},
                                  headers=agent)
    assert cancelled.json()["status"] == "cancelled"
    assert {t["status"] for t in cancelled.json()["tasks"]
            if t["action"] == "lift_restriction"} == {"cancelled"}
    later(monkeypatch, utcnow() + timedelta(days=30))
    await d.run_until_idle()
    assert lifts_sent(connectors) == []


# -- notification payloads -----------------------------------------------------------------------


async def test_no_notification_carries_an_agents_free_text(
    portal_app: Any, portal_client: httpx.AsyncClient, agent: dict[str, str],
) -> None:
    app, client, connectors = portal_app, portal_client, fakes()
    extension = "Uppgifterna finns hos flera leverantörer, Anna Andersson"
    entered = await create(client, agent, agent_body())
    extended = await client.post(f"/v1/requests/{entered['id']}/extend",
                                 json={"months": 1, "reason": extension}, headers=agent)
    assert extended.status_code == 200, extended.text
    request_id = await restricted(app, client, agent, connectors)
    await ask_lift(client, agent, request_id)
    await worker(app, connectors).build_responses()
    portal = Portal(app)
    await portal.deliver()
    async with app.state.sessionmaker() as session:
        payloads = [n.payload for n in await session.scalars(select(Notification))]
    sent = {body["type"]: body["data"] for body in portal.bodies}
    assert {"request.extended", lift.NOTICE_EVENT} <= set(sent)
    assert sent["request.extended"]["extended_months"] == 1 and sent[
        "request.extended"]["due_at"]
    notice = sent[lift.NOTICE_EVENT]
    assert notice["notice_period_s"] == int(NOTICE_S)
    assert datetime.fromisoformat(notice["lift_from"]) > utcnow()
    for payload in payloads + [body["data"] for body in portal.bodies]:
        assert outbox.FREE_TEXT.isdisjoint(payload), payload
        text = json.dumps(payload, ensure_ascii=False)
        assert REASON not in text and extension not in text and "Anna" not in text


async def test_emit_refuses_free_text(portal_app: Any, portal_client: httpx.AsyncClient,
                                      agent: dict[str, str]) -> None:
    entered = await create(portal_client, agent, agent_body())
    async with portal_app.state.sessionmaker() as session:
        request = await session.get(DsrRequest, uuid.UUID(entered["id"]))
        assert request is not None
        with pytest.raises(AssertionError):
            await outbox.emit(session, request, "request.extended", reason="anything")


def test_the_notice_period_setting() -> None:
    assert Settings(_env_file=None).lift_notice_s == 259200  # type: ignore[call-arg]
    assert Settings(_env_file=None, lift_notice_s=5).lift_notice_s == 5  # type: ignore[call-arg]
