"""The access copy is complete: every category the policy names, recipients per customer, and
callers who withheld their number stay withheld (art. 15(4))."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.connectors import base
from app.connectors.registry import build_connectors
from app.models import TaskStatus
from app.sandbox import create_sandbox_app
from app.settings import Settings
from tests.responses.conftest import download, finish, link
from tests.services.fakes import fakes


@pytest.fixture
async def register() -> AsyncIterator[dict[str, Any]]:
    """The real register and Fortnox connectors against the sandbox, in process."""
    sandbox = create_sandbox_app(Settings(_env_file=None, sandbox_delay_ms=0))
    settings = Settings(_env_file=None, crm_url="http://sandbox/crm",
                        fortnox_url="http://sandbox/fortnox")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox)) as http:
        real = build_connectors(settings, http)
        made = fakes(**{system: (lambda call: base.Outcome(
            TaskStatus.done, "exported", {"record": {"id": call.link}},
            subject=call.link)) for system in ("stadsnat", "snpac", "eniro")})
        made["crm"], made["fortnox"] = real["crm"], real["fortnox"]
        yield made
    await sandbox.state.sandbox.close()


POLICY_CATEGORIES = {"support_tickets", "service_contacts", "email_log", "ip_log",
                     "credit_checks", "website_visits", "traffic_data_calls", "consents",
                     "order_ip_log", "billing", "customer_data", "services", "sources",
                     "installation_orders"}


async def test_the_copy_holds_every_category_and_names_its_recipients(  # type: ignore[no-untyped-def]
    app, client, agent, auth, register
) -> None:
    for system, ext in (("fortnox", "1001"), ("stadsnat", "SN-440017"),
                        ("snpac", "+46470123456"), ("eniro", "HIT-7K2P9Q")):
        await link(client, agent, "C-1001", system, ext)
    portal = auth("portal", "C-1001")
    body = await finish(app, client, portal, {"type": "access"}, register)
    assert body["status"] == "completed", body
    package = await download(client, portal, body["id"])
    data = json.loads(package.read("data.json"))
    crm = next(s for s in data["systems"] if s["system"] == "crm")
    assert set(crm["categories"]) >= POLICY_CATEGORIES, set(crm["categories"])
    calls = crm["categories"]["traffic_data_calls"]
    hidden = [row for row in calls if row["withheld"]]
    assert hidden and all(row["counterpart"] is None for row in hidden)
    assert all(row["counterpart"] for row in calls if not row["withheld"])
    html = package.read("report.html").decode()
    assert "Dolt nummer" in html
    recipients = html.split('id="recipients"')[1].split("</section>")[0]
    for name in ("Stadsnät", "Fortnox Finans", "SNPAC", "Eniro/Hitta", "Installationsföretag"):
        assert name in recipients, name
    for heading in ("Felanmälningar och ärenden", "Kontakter med kundservice",
                    "Kreditupplysningar (UC)", "Trafikdata: IP-logg (högst 24 timmar)"):
        assert heading in html, heading


async def test_a_former_customer_is_told_only_of_the_recipients_that_hold_data(  # type: ignore[no-untyped-def]
    app, client, agent, auth, register
) -> None:
    await link(client, agent, "C-1003", "fortnox", "1003")
    portal = auth("portal", "C-1003")
    body = await finish(app, client, portal, {"type": "access"}, register)
    html = (await download(client, portal, body["id"])).read("report.html").decode()
    recipients = html.split('id="recipients"')[1].split("</section>")[0]
    assert "Fortnox Finans" in recipients
    for name in ("Stadsnät", "SNPAC", "Eniro/Hitta", "Installationsföretag"):
        assert name not in recipients, name
