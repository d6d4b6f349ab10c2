"""The access package (art. 15): files, manifest, data grouped by system, report in sv and en."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, ResponseChunk, TaskResult
from tests.responses.conftest import (
    CRM_DATA,
    PERSONAL,
    access_behaviours,
    check_manifest,
    connectors,
    download,
    finish,
    link,
)

# What art. 15(1)-(2) requires, as it must be visible in each language's report. The customer
# here is linked to the register and Fortnox only, so Fortnox is the one recipient named.
REQUIRED = {
    "sv": ["Ändamål, rättslig grund och lagringstid per kategori", "Mottagare av dina uppgifter",
           "Fortnox Finans", "polisen och SOS Alarm", "på begäran enligt lag",
           "IP-adresser raderas inom högst 24 timmar", "bokföringslagen 7 kap. 2 §",
           "låses uppgifterna efter 6 månader", "raderas efter ytterligare 6 månader", "SPAR",
           "UC", "Samtalshistorik", "Rätt till rättelse", "Rätt till radering",
           "Rätt till begränsning", "Rätt att invända", "Rätt till dataportabilitet",
           "Integritetsskyddsmyndigheten", "Box 8114", "104 20 Stockholm", "imy@imy.se",
           "Överföring till länder utanför EU/EES", "Automatiserade beslut",
           "inga beslut om dig som enbart grundas på automatiserad behandling", "Hammargatan 6", "516404-6590",
           "Alla tider anges i svensk tid."],
    "en": ["Purposes, legal basis and retention by category", "Recipients of your data",
           "Fortnox Finans", "the police and SOS Alarm", "on request under law",
           "IP addresses are erased within 24 hours at most", "chapter 7, section 2",
           "locked after 6 months", "erased after a further 6 months", "SPAR", "UC",
           "Call history", "Right to rectification", "Right to erasure",
           "Right to restriction", "Right to object", "Right to data portability",
           "Integritetsskyddsmyndigheten", "Box 8114", "104 20 Stockholm", "imy@imy.se",
           "Transfers outside the EU/EEA", "Automated decisions",
           "no decision about you based solely on automated processing", "Hammargatan 6", "516404-6590",
           "All times are Swedish time."],
}
# Subprocessors the customer has no data with are not named as recipients.
NOT_RECIPIENTS = ("Stadsnät", "SNPAC", "Eniro/Hitta")


async def _access(app: Any, client: Any, portal: dict[str, str], agent: dict[str, str],
                  language: str = "sv", calls: int = 3) -> tuple[dict[str, Any], Any]:
    await link(client, agent, "C-1001", "fortnox", "1001")
    made = connectors(crm_calls=calls, **access_behaviours())
    body = await finish(app, client, portal, {"type": "access", "language": language}, made)
    assert body["status"] == "completed"
    return body, await download(client, portal, body["id"])


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_access_package_files_manifest_and_art15_sections(
    app, client, portal, agent, language: str
) -> None:  # type: ignore[no-untyped-def]
    body, package = await _access(app, client, portal, agent, language)
    manifest = check_manifest(package, {"manifest.json", "report.html", "data.json"})
    assert manifest["request_id"] == body["id"] and manifest["request_type"] == "access"
    assert manifest["customer_number"] == "C-1001" and manifest["generated_at"].endswith("Z")
    assert manifest["service"]["version"]
    html = package.read("report.html").decode()
    assert f'<html lang="{language}">' in html
    for text in REQUIRED[language]:
        assert text in html, text
    assert "Astrid Exempelsson" in html and "19850412-9803" in html  # the copy itself
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "default-src 'none'" in html and "<script" not in html


async def test_data_json_groups_every_system_by_category_with_source(
    app, client, portal, agent
) -> None:  # type: ignore[no-untyped-def]
    _, package = await _access(app, client, portal, agent)
    data = json.loads(package.read("data.json"))
    assert data["format"] == "connect2ip-dsr-access/1"
    systems = {s["system"]: s for s in data["systems"]}
    assert set(systems) == {"crm", "fortnox"}
    crm = systems["crm"]
    assert crm["identified_by"] == "customer number" and crm["retrieved_at"]
    assert crm["categories"]["customer_data"] == CRM_DATA["customer_data"]
    assert [c["id"] for c in crm["categories"]["traffic_data_calls"]] == [
        "CH-1001-0000000", "CH-1001-0000001", "CH-1001-0000002"]
    assert set(crm["categories"]) == set(CRM_DATA) | {"traffic_data_calls"}
    assert systems["fortnox"]["categories"]["invoices"][0]["DocumentNumber"] == "5101"
    html = package.read("report.html").decode()
    headings = re.findall(r"<h4>([^<]*)</h4>", html)
    assert "Fakturor (Fortnox Finans)" in headings
    assert "Samtalshistorik (trafikdata)" in headings
    assert "Du har 3 poster i samtalshistoriken" in html


async def test_report_shows_first_rows_of_a_long_call_history(
    app, client, portal, agent
) -> None:  # type: ignore[no-untyped-def]
    _, package = await _access(app, client, portal, agent, calls=2500)
    data = json.loads(package.read("data.json"))
    crm = next(s for s in data["systems"] if s["system"] == "crm")
    assert len(crm["categories"]["traffic_data_calls"]) == 2500
    html = package.read("report.html").decode()
    assert "Du har 2500 poster" in html and "Här visas de första 100" in html
    assert "CH-1001-0000099" in html and "CH-1001-0000100" not in html


async def test_personal_data_is_escaped_and_only_in_the_package(
    app, client, portal, agent
) -> None:  # type: ignore[no-untyped-def]
    hostile = {**CRM_DATA, "customer_data": {**CRM_DATA["customer_data"],
                                             "name": "<script>alert(1)</script>"}}
    made = connectors(crm=lambda call: __import__("app.connectors.base", fromlist=["done"])
                      .done("ok", hostile))
    body = await finish(app, client, portal, {"type": "access"}, made)
    package = await download(client, portal, body["id"])
    html = package.read("report.html").decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    request_id = uuid.UUID(body["id"])
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(
            select(TaskResult).where(TaskResult.request_id == request_id))) == []
        chunks = list(await session.scalars(
            select(ResponseChunk).where(ResponseChunk.request_id == request_id)))
        assert chunks and all(b"Astrid" not in c.ciphertext for c in chunks)
        events = list(await session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request_id)))
    for event in events:
        for value in PERSONAL:
            assert value not in json.dumps(event.data)
    assert {"response_built", "response_downloaded"} <= {e.action for e in events}
    shown = (await client.get(f"/v1/requests/{body['id']}", headers=portal)).json()
    assert shown["response"]["sha256"] and shown["response_url"].endswith("/response")
    for value in PERSONAL:
        assert value not in json.dumps(shown)
