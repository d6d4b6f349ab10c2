"""The extension notice (art. 12(3)): a letter of its own, available at once, not only inside
the final answer; only the customer's own portal token or staff may read it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.auth import Role, mint_token
from tests.helpers import agent_body, assert_problem, create


async def test_an_extension_has_its_own_letter_at_once(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    path = f"/v1/requests/{created['id']}/notices/extension"
    assert_problem(await client.get(path, headers=agent), 404)  # not extended yet
    extended = await client.post(f"/v1/requests/{created['id']}/extend",
                                 json={"months": 2, "reason": "Uppgifter hos flera leverantörer"},
                                 headers=agent)
    assert extended.status_code == 200, extended.text
    due = datetime.fromisoformat(extended.json()["due_at"].replace("Z", "+00:00")).astimezone(
        ZoneInfo("Europe/Stockholm")).date().isoformat()
    page = await client.get(path, headers=agent)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "förlängt svarstiden med två månader" in html
    assert f"Du får vårt svar senast den {due}." in html
    assert "Uppgifter hos flera leverantörer" in html
    assert "Integritetsskyddsmyndigheten" in html
    # the request is still open: the notice is not the answer
    assert (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()[
        "status"] == "awaiting_verification"


async def test_the_notice_is_the_customers_alone(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{created['id']}/extend",
                      json={"months": 1, "reason": "Många begäranden"}, headers=agent)
    settings = app.state.settings
    other = {"Authorization": "Bearer " + mint_token(
        settings, sub="portal", role=Role.portal, customer_number="C-1002")}
    path = f"/v1/requests/{created['id']}/notices/extension"
    assert_problem(await client.get(path, headers=other), 404)
    own = {"Authorization": "Bearer " + mint_token(
        settings, sub="portal", role=Role.portal, customer_number=created["customer_number"])}
    page = await client.get(path, headers=own)
    assert page.status_code == 200 and "med en månad" in page.text
    assert_problem(await client.get(f"/v1/requests/{created['id']}/notices/other",
                                    headers=agent), 422)
