"""Lifting restrictions, extension notices and portal notifications at the API's edge."""

from __future__ import annotations

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
    assert [(t["action"], t["status"]) for t in lifted.json()["tasks"]
            if t["action"] == "lift_restriction"] == [("lift_restriction", "pending")]
    await dispatcher(app, fakes(crm=lambda c: base.done("lifted"))).run_until_idle()
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
