"""Lifting restrictions, extension notices and portal notifications at the API's edge."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from app.connectors import base
from app.models import Notification
from app.settings import Settings
from tests.helpers import agent_body, assert_problem, create
from tests.services.fakes import fakes
from tests.services.test_dispatch import dispatcher

PORTAL_SECRET = "whsec_" + "cG9ydGFsLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="


async def test_only_a_completed_restriction_can_be_lifted_once(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    access = await create(client, portal, {"type": "access"})
    restriction = await create(client, portal, {"type": "restriction",
                                                "details": {"grounds": "accuracy_contested"}})
    lift = {"reason": "Checked and corrected"}
    # not finished yet
    assert_problem(await client.post(f"/v1/requests/{restriction['id']}/lift", json=lift,
                                     headers=agent), 409)
    await dispatcher(app, fakes(crm=lambda c: base.done("restricted"))).run_until_idle()
    # another type
    body = assert_problem(await client.post(f"/v1/requests/{access['id']}/lift", json=lift,
                                            headers=agent), 409)
    assert "restriction" in body["detail"]
    # the portal may not lift
    assert_problem(await client.post(f"/v1/requests/{restriction['id']}/lift", json=lift,
                                     headers=portal), 403)
    # an empty reason is refused
    assert_problem(await client.post(f"/v1/requests/{restriction['id']}/lift",
                                     json={"reason": " "}, headers=agent), 422)
    lifted = await client.post(f"/v1/requests/{restriction['id']}/lift", json=lift,
                               headers=agent)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["lift_reason"] == "Checked and corrected"
    # held back until the customer has been told (tests/services/test_lift.py)
    assert [(t["action"], t["status"]) for t in lifted.json()["tasks"]
            if t["action"] == "lift_restriction"] == [("lift_restriction", "scheduled")]
    # the lift's notice given by an agent, with no notice period, lets it run
    worker = dispatcher(app, fakes(crm=lambda c: base.done("lifted")), lift_notice_s=0)
    await worker.build_responses()
    notice = next(t for t in (await client.get(f"/v1/requests/{restriction['id']}",
                                                headers=agent)).json()["tasks"]
                  if t["action"] == "lift_notice")
    assert notice["status"] == "manual"
    sent = await client.post(f"/v1/requests/{restriction['id']}/tasks/{notice['id']}/complete",
                             json={"outcome": "done", "note": "Letter posted"}, headers=agent)
    assert sent.status_code == 200, sent.text
    await worker.run_until_idle()
    done = (await client.get(f"/v1/requests/{restriction['id']}", headers=agent)).json()
    assert done["status"] == "completed"
    assert_problem(await client.post(f"/v1/requests/{restriction['id']}/lift", json=lift,
                                     headers=agent), 409)


async def test_the_extension_reason_is_shown(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    extended = await client.post(f"/v1/requests/{created['id']}/extend",
                                 json={"months": 1, "reason": "Several partners hold data"},
                                 headers=agent)
    assert extended.json()["extension_reason"] == "Several partners hold data"


async def test_without_a_portal_url_nothing_is_queued(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body(identity_verification="bankid"))
    await client.post(f"/v1/requests/{created['id']}/cancel", json={"note": "x"}, headers=agent)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0
    listed = await client.get(f"/v1/requests/{created['id']}/notifications", headers=agent)
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_portal_tokens_cannot_read_notifications(client, portal) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "access"})
    assert_problem(await client.get(f"/v1/requests/{created['id']}/notifications",
                                    headers=portal), 403)


@pytest.mark.parametrize("values", [
    {"portal_webhook_url": "https://portal.example/dsr"},  # no secret
    {"portal_webhook_url": "https://portal.example/dsr", "portal_webhook_secret": "plain"},
])
def test_portal_webhook_settings_are_checked(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_portal_webhook_settings_accept_a_whsec_secret() -> None:
    settings = Settings(_env_file=None, portal_webhook_url="https://portal.example/dsr",  # type: ignore[call-arg]
                        portal_webhook_secret=PORTAL_SECRET)
    assert settings.notifications_enabled


async def test_a_case_is_kept_until_its_scheduled_work_has_run(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.db import utcnow
    from app.models import DsrRequest, Task, TaskStatus
    from app.retention.housekeeping import purge_housekeeping

    kept = base.retained("kept", [base.Retained("accounting", "BFL", "2033-12-31")])
    created = await create(client, portal, {"type": "erasure"})
    await dispatcher(app, fakes(crm=lambda c: kept)).run_until_idle()
    settings = app.state.settings
    long_ago = utcnow() - timedelta(days=settings.case_retention_days + 1)
    async with app.state.sessionmaker() as session, session.begin():
        row = await session.get(DsrRequest, uuid.UUID(created["id"]))
        assert row is not None and row.status == "completed"
        row.finished_at = long_ago
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge_housekeeping(session, settings=settings, now=utcnow())
    assert counts["cases"] == 0  # the deferred erasure is still to run
    async with app.state.sessionmaker() as session, session.begin():
        deferred = (await session.scalars(select(Task).where(
            Task.action == "erase_retained"))).one()
        assert deferred.status is TaskStatus.scheduled
        deferred.status, deferred.finished_at = TaskStatus.done, utcnow()
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge_housekeeping(session, settings=settings, now=utcnow())
    assert counts["cases"] == 0  # it ran just now: the clock starts from there
    async with app.state.sessionmaker() as session, session.begin():
        deferred = (await session.scalars(select(Task).where(
            Task.action == "erase_retained"))).one()
        deferred.finished_at = long_ago
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge_housekeeping(session, settings=settings, now=utcnow())
    assert counts["cases"] == 1


async def test_a_notification_never_acknowledged_is_given_up_and_shown(  # type: ignore[no-untyped-def]
    client, agent, app
) -> None:
    import httpx

    from app.db import create_sessionmaker
    from app.notifications import delivery, outbox
    from tests.conftest import make_settings

    settings = make_settings(app.state.settings.database_url,
                             portal_webhook_url="https://portal.test/dsr",
                             portal_webhook_secret=PORTAL_SECRET, notify_give_up_s=0.001)
    sessionmaker = create_sessionmaker(app.state.engine, notify=True)
    async with sessionmaker() as session, session.begin():
        from app.models import DsrRequest

        created = await create(client, agent, agent_body())
        request = await session.get(DsrRequest, uuid.UUID(created["id"]))
        assert request is not None
        await outbox.emit(session, request, "request.received")
    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(503)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        assert await delivery.Notifier(settings, sessionmaker, http).deliver_due() == 0
    assert len(attempts) == 1
    listed = (await client.get(f"/v1/requests/{created['id']}/notifications",
                               headers=agent)).json()["items"]
    assert [(n["event"], n["status"], n["last_error"]) for n in listed] == [
        ("request.received", "failed", "the portal answered 503")]
    trail = (await client.get(f"/v1/requests/{created['id']}/events", headers=agent)).json()
    assert trail["events"][-1]["action"] == "notification_failed"
    assert trail["chain_intact"]


async def test_the_answer_tells_the_customer_of_the_extension(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    from tests.responses.conftest import access_behaviours, connectors, download

    created = await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{created['id']}/extend",
                      json={"months": 2, "reason": "Uppgifter finns hos flera leverantörer"},
                      headers=agent)
    await client.post(f"/v1/requests/{created['id']}/verify", json={"method": "bankid"},
                      headers=agent)
    made = connectors(**access_behaviours())
    await dispatcher(app, made).run_until_idle()
    app.state.connectors = made
    report = (await download(client, agent, created["id"])).read("report.html").decode()
    assert "Förlängd svarstid" in report
    assert "Uppgifter finns hos flera leverantörer" in report
    assert "med två månader" in report and "månad(er)" not in report
