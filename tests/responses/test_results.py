"""Erasure, rectification, restriction, objection and rejection: result.json and the letter."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.connectors import base
from app.connectors.registry import build_connectors
from app.sandbox import create_sandbox_app
from app.sandbox.crm import ACCOUNTING_BASIS
from app.settings import Settings
from tests.helpers import agent_body, create
from tests.responses.conftest import check_manifest, connectors, download, finish, link
from tests.services.fakes import fakes

RESULT_FILES = {"manifest.json", "report.html", "result.json"}


@pytest.fixture
async def sandbox_connectors() -> AsyncIterator[dict[str, Any]]:
    """The real crm and Fortnox connectors against the sandbox (in-process); fakes for the
    asynchronous partners, whose callbacks are tested elsewhere."""
    sandbox_settings = Settings(_env_file=None, sandbox_delay_ms=0)
    sandbox = create_sandbox_app(sandbox_settings)
    transport = httpx.ASGITransport(app=sandbox)
    settings = Settings(_env_file=None, crm_url="http://sandbox/crm",
                        fortnox_url="http://sandbox/fortnox")
    async with httpx.AsyncClient(transport=transport) as http:
        made = fakes()
        real = build_connectors(settings, http)
        made["crm"], made["fortnox"] = real["crm"], real["fortnox"]
        yield made
    await sandbox.state.sandbox.close()


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_c1002_erasure_lists_what_is_kept_with_basis_and_date(
    app, client, agent, auth, sandbox_connectors, language: str
) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1002", "fortnox", "1002")
    await link(client, agent, "C-1002", "stadsnat", "SN-440233")
    portal = auth("portal", "C-1002")
    body = await finish(app, client, portal, {"type": "erasure", "language": language},
                        sandbox_connectors)
    assert body["status"] == "completed", body
    package = await download(client, portal, body["id"])
    check_manifest(package, RESULT_FILES)
    result = json.loads(package.read("result.json"))
    assert {s["system"] for s in result["systems"]} == {"crm", "fortnox", "stadsnat"}
    assert all(s["done_at"] for s in result["systems"])
    kept = [(r["system"], r["code"], r["basis_code"]) for r in result["retained"]]
    # C-1002 owes an invoice: the claim keeps the debtor's identity (and where it came from)
    # until it is paid, at most through the last day it can be pursued (art. 17(3)(e),
    # preskriptionslagen), and the accounting records are kept under Bokföringslagen.
    assert kept == [("crm", "debtor_identity", "limitation_period"),
                    ("crm", "data_sources", "limitation_period"),
                    ("crm", "accounting_records", "bookkeeping"),
                    ("fortnox", "invoices", "bookkeeping"),
                    ("fortnox", "debtor_identity", "limitation_period")]
    claim = result["retained"][0]["until"]
    for item in result["retained"]:
        if item["basis_code"] == "bookkeeping":
            assert "Bokföringslagen" in item["basis"] and "7 kap. 2 §" in item["basis"]
            assert re.fullmatch(r"\d{4}-12-31", item["until"])
        else:
            assert "17(3)(e)" in item["basis"] and "preskriptionslagen" in item["basis"]
            assert item["until"] == claim and re.fullmatch(r"\d{4}-\d{2}-\d{2}", claim)
    assert result["retained"][2]["basis"] == ACCOUNTING_BASIS
    html = package.read("report.html").decode()
    wording = {"sv": ["Bokföringslagen (1999:1078) 7 kap. 2 §", "art. 17.3 e GDPR",
                      "preskriptionslagen (1981:130) 2 §"],
               "en": ["Bookkeeping Act (1999:1078), chapter 7, section 2",
                      "Article 17(3)(e) GDPR", "Limitation Act (1981:130), section 2"]}[language]
    for text in [*wording, result["retained"][2]["until"]]:
        assert text in html, text
    assert "unpaid_invoices" not in html and "debtor_identity" not in html
    heading = {"sv": "Uppgifter som sparas", "en": "Data that is kept"}
    assert heading[language] in html and "Integritetsskyddsmyndigheten" in html
    for value in ("Erik Provsson", "19720918-9815", "erik.provsson@example.com"):
        assert value not in html and value not in json.dumps(result)


async def test_rectification_names_fields_never_values(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    made = connectors(crm=lambda call: base.done("Rectified in the customer register: email."))
    body = await finish(app, client, portal, {
        "type": "rectification", "details": {"changes": {"email": "astrid.ny@example.se"}}},
        made)
    package = await download(client, portal, body["id"])
    check_manifest(package, RESULT_FILES)
    result = json.loads(package.read("result.json"))
    assert result["rectification"] == {"fields": ["email"]}
    html = package.read("report.html").decode()
    assert "Uppgifter som begäran gällde" in html and "E-postadress" in html
    for name in package.namelist():
        assert b"astrid.ny" not in package.read(name)


async def test_restriction_says_how_and_when_it_is_lifted(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    body = await finish(app, client, portal, {
        "type": "restriction", "language": "en", "details": {"grounds": "accuracy_contested"}},
        connectors())
    package = await download(client, portal, body["id"])
    result = json.loads(package.read("result.json"))
    assert result["restriction"]["grounds"] == "accuracy_contested"
    html = package.read("report.html").decode()
    assert "How and when the restriction can be lifted" in html
    assert "until we have verified the data" in html and "Article 18(3)" in html
    assert "now marked as restricted in our own customer register" in html


async def test_objection_to_marketing_leaves_the_listing_alone(app, client, portal, agent) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "eniro", "HIT-7K2P9Q")
    body = await finish(app, client, portal, {
        "type": "objection", "details": {"processing": "direct_marketing"}}, connectors())
    assert [(t["system"], t["action"]) for t in body["tasks"]] == [("crm", "stop_marketing")]
    package = await download(client, portal, body["id"])
    result = json.loads(package.read("result.json"))
    assert result["objection"] == {"processing": "direct_marketing", "unlist": False,
                                   "stopped": ["stop_marketing"]}
    html = package.read("report.html").decode()
    assert "Direktmarknadsföring till dig har upphört" in html
    assert "Din katalogpost hos Eniro/Hitta påverkas inte" in html
    assert "Borttagning ur katalogen" not in html and "har tagits bort" not in html


async def test_objection_to_marketing_unlists_when_asked(app, client, portal, agent) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "eniro", "HIT-7K2P9Q")
    body = await finish(app, client, portal, {
        "type": "objection", "details": {"processing": "direct_marketing", "unlist": True}},
        connectors())
    package = await download(client, portal, body["id"])
    result = json.loads(package.read("result.json"))
    assert result["objection"]["stopped"] == ["stop_marketing", "unlist"]
    assert "Din katalogpost hos Eniro/Hitta har tagits bort" in package.read(
        "report.html").decode()


@pytest.mark.parametrize(("decision", "says", "not_said"), [
    ("upheld", "godtagit den: behandlingen har upphört", "Behandlingen fortsätter"),
    ("overridden", "Behandlingen fortsätter därför", "behandlingen har upphört"),
])
async def test_objection_on_legitimate_interest_says_what_the_agent_decided(  # type: ignore[no-untyped-def]
    app, client, portal, agent, decision, says, not_said
) -> None:
    from tests.services.test_dispatch import dispatcher

    created = await create(client, portal, {"type": "objection", "details": {
        "processing": "legitimate_interest", "activity": "Analys av min trafikdata",
        "grounds": "Jag vill inte att mina samtal analyseras"}})
    made = connectors(crm=lambda call: base.manual("Weigh the objection."))
    await dispatcher(app, made).run_until_idle()
    task = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()["tasks"][0]
    assert (task["action"], task["status"]) == ("assess_objection", "manual")
    no_decision = await client.post(
        f"/v1/requests/{created['id']}/tasks/{task['id']}/complete",
        json={"outcome": "done", "note": "x"}, headers=agent)
    assert no_decision.status_code == 409
    reason = "Statistiken anonymiseras och behövs för att dimensionera nätet."
    done = await client.post(f"/v1/requests/{created['id']}/tasks/{task['id']}/complete",
                             json={"outcome": "done", "note": reason, "decision": decision},
                             headers=agent)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    app.state.connectors = made
    package = await download(client, portal, created["id"])
    result = json.loads(package.read("result.json"))["objection"]
    assert result["decision"] == decision and result["activity"] == "Analys av min trafikdata"
    html = package.read("report.html").decode()
    assert says in html and not_said not in html
    assert "Behandling som har upphört" not in html or decision == "upheld"
    # the reasons for continuing are told; an upheld objection needs none
    assert (reason in html) == (decision == "overridden")


@pytest.mark.parametrize(("language", "texts"), [
    ("sv", ["Beslut: din begäran har avslagits", "orimlig", "Integritetsskyddsmyndigheten",
            "artikel 12.4 i dataskyddsförordningen", "Box 8114"]),
    ("en", ["Decision: your request has been refused", "excessive",
            "Integritetsskyddsmyndigheten", "Article 12(4) GDPR", "Box 8114"]),
])
async def test_rejected_request_gets_a_letter(
    app, client, agent, language: str, texts: list[str]
) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body("access", language=language))
    rejected = await client.post(f"/v1/requests/{created['id']}/reject", headers=agent,
                                 json={"reason": "excessive",
                                       "note": "Fifth identical request this month."})
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["response_url"] == f"/v1/requests/{created['id']}/response"
    package = await download(client, agent, created["id"])
    check_manifest(package, RESULT_FILES)
    result = json.loads(package.read("result.json"))
    assert result["format"] == "connect2ip-dsr-rejection/1" and result["outcome"] == "rejected"
    assert result["rejection"]["reason"] == "excessive"
    assert "Integritetsskyddsmyndigheten" in result["rejection"]["complaint_to"]
    html = package.read("report.html").decode()
    for text in [*texts, "Fifth identical request this month."]:
        assert text in html, text
