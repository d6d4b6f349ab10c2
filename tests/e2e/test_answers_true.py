"""The demo customers' answers, through a real ``dsr serve``: each letter claims only what the
systems did, and every claim names audit events that exist on the request's trail.

With ``DSR_TEST_ANSWERS_DIR`` set, each answer's report is also written there (``<name>.html``) so
a privacy officer can read the whole set.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from tests.e2e.conftest import Launch
from tests.e2e.installer import finish
from tests.e2e.service import Api, Service, bearer
from tests.e2e.test_promises import output_of, retention_run


def is_final(request: dict[str, Any]) -> bool:
    return request["status"] in ("completed", "rejected", "cancelled")


def answer(api: Api, request_id: str, name: str) -> tuple[dict[str, Any], str]:
    """The answer's data file (result.json or data.json) and its report, with every claim's
    evidence checked against the request's audit trail."""
    response = api.http.get(f"/v1/requests/{request_id}/response", headers=api.agent)
    assert response.status_code == 200, response.text
    package = zipfile.ZipFile(io.BytesIO(response.content))
    names = package.namelist()
    data = json.loads(package.read("result.json" if "result.json" in names else "data.json"))
    html = package.read("report.html").decode()
    trail = api.events(request_id)
    assert trail["chain_intact"] is True
    seqs = {event["seq"]: event for event in trail["events"]}
    for claim in data["claims"]:
        assert claim["evidence"], claim
        missing = set(claim["evidence"]) - set(seqs)
        assert not missing, (name, claim, missing)
    if folder := os.environ.get("DSR_TEST_ANSWERS_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.html").write_text(html, encoding="utf-8")
    return data, html


def claims(data: dict[str, Any]) -> set[str]:
    return {c["claim"] for c in data["claims"]}


def test_the_demo_customers_answers_say_only_what_happened(api: Api, service: Service) -> None:
    portal_1002 = bearer("portal", "C-1002")
    # C-1002 has no directory listing: asking to be unlisted removes nothing.
    objection = api.create({"type": "objection", "details": {
        "processing": "direct_marketing", "unlist": True}}, portal_1002)
    api.wait_for([objection["id"]], is_final)
    data, html = answer(api, objection["id"], "c1002-objection-unlist")
    assert {"objection.marketing_stopped", "objection.no_listing"} <= claims(data)
    assert "objection.unlisted" not in claims(data)
    assert "har tagits bort, som du bad om" not in html

    # C-1002's erasure keeps what Bokföringslagen and the unpaid invoice require.
    erasure = api.create({"type": "erasure"}, portal_1002)
    api.wait_for([erasure["id"]], is_final)
    data, html = answer(api, erasure["id"], "c1002-erasure")
    assert {"erasure.erased_except_kept", "erasure.kept_by_law", "erasure.scheduled",
            "erasure.told_all"} <= claims(data)
    assert "erasure.all_erased" not in claims(data)
    assert "Sparas t.o.m." in html and "Raderas senast" not in html

    first_sha = api.get(erasure["id"])["response"]["sha256"]

    # A rectification after that erasure finds nothing to correct, and says so.
    rectification = api.create({"type": "rectification", "details": {
        "changes": {"email": "ny@example.se"}}}, portal_1002)
    api.wait_for([rectification["id"]], is_final)
    data, html = answer(api, rectification["id"], "c1002-rectification-after-erasure")
    assert "rectification.told_all" not in claims(data)
    assert "rectification.corrected" not in claims(data)
    assert "rectification.nothing_held" in claims(data)
    assert "ny@example.se" not in html

    # An erasure entered by an agent and cancelled before identity was checked says nothing
    # about the customer's systems (art. 12(6)).
    unverified = api.create({"type": "erasure", "customer_number": "C-1001",
                             "channel": "phone"}, api.agent)
    api.post(f"/v1/requests/{unverified['id']}/cancel", {"note": "Återkallad i telefon"})
    data, html = answer(api, unverified["id"], "c1001-erasure-cancelled-unverified")
    assert claims(data) == {"closed.unverified"} and data["systems"] == []
    assert not any(name in html for name in ("Fortnox", "Stadsnät", "SNPAC", "Eniro"))

    # Extended at once: the letter exists before the answer, and the answer repeats it.
    access = api.create({"type": "access", "customer_number": "C-1001", "channel": "email"},
                        api.agent)
    api.post(f"/v1/requests/{access['id']}/extend", {"months": 1, "reason": "Många ärenden"})
    notice = api.http.get(f"/v1/requests/{access['id']}/notices/extension",
                          headers=api.agent)
    assert notice.status_code == 200 and "med en månad" in notice.text
    api.post(f"/v1/requests/{access['id']}/verify", {"method": "id_document"})
    finish(api, [access["id"]])
    data, html = answer(api, access["id"], "c1001-access-extended")
    assert {"access.intro_complete", "access.recipients_listed", "access.case_records",
            "extension.text"} <= claims(data)
    assert "Installationsföretag" in html  # the order makes the installer a recipient
    assert [r["id"] for r in data["case_records"]][-1] == access["id"]

    # The policy's lock of C-1003 (the sweep ran at start) is a notice, not an art. 18 answer.
    page = api.http.get("/v1/requests?customer_number=C-1003", headers=api.agent).json()
    lock = next(r for r in page["items"] if r["channel"] == "retention")
    api.wait_for([lock["id"]], is_final)
    data, html = answer(api, lock["id"], "c1003-retention-lock")
    assert {"retention.lock_intro", "retention.locked"} <= claims(data)
    assert "retention_policy" not in html and "din begäran" not in html
    assert "18.3" not in html and data["started_by"] == "service"

    # Years later the deferred erasure runs: the customer gets a notice of its own, in the
    # service's voice, and the first answer's SHA-256 stays on the trail.
    out = output_of(retention_run(service, "--as-of", "2029-11-02"))
    assert "erase_retained" in out, out
    api.wait_for([erasure["id"]], lambda r: r.get("response") is not None
                 and r["response"]["sha256"] != first_sha, timeout_s=30)
    data, html = answer(api, erasure["id"], "c1002-deferred-erasure-notice")
    assert "erasure.deferred_notice" in claims(data)
    assert "Du har bett" not in html and "Meddelande" in html
    trail = api.events(erasure["id"])["events"]
    assert any(e["action"] == "response_superseded" and e["data"]["sha256"] == first_sha
               for e in trail)


def test_c1001_every_right_and_c1003_leaving_read_true(launch: Launch) -> None:
    """C-1001 (active, every system, an installation order) through every right, a lift and
    an objection an agent overrides; C-1003's erasure a year after its contract ended."""
    service = launch({"DSR_LIFT_NOTICE_S": "2"})
    portal = bearer("portal", "C-1001")
    with service.client() as client:
        api = Api(client)
        portability = api.create({"type": "portability",
                                  "details": {"receiving_operator": "Telia"}}, portal)
        api.wait_for([portability["id"]], is_final)
        data, html = answer(api, portability["id"], "c1001-portability-telia")
        assert {"portability.porting_approved", "portability.sent_to_snpac_only",
                "portability.ends_subscription"} <= claims(data)
        assert "0470-12 34 56" in html

        rectification = api.create({"type": "rectification", "details": {
            "changes": {"address": "Storgatan 1"}}}, portal)
        finish(api, [rectification["id"]])  # the installer's step is an agent's
        data, html = answer(api, rectification["id"], "c1001-rectification-address")
        assert {"rectification.corrected", "rectification.told_all"} <= claims(data)
        assert "installationsföretaget" in html and "Storgatan 1" not in html

        legitimate = api.create({"type": "objection", "details": {
            "processing": "legitimate_interest", "activity": "analys av webbplatsbesök",
            "grounds": "Jag vill inte bli analyserad"}}, portal)
        waiting = api.wait_for([legitimate["id"]], lambda r: r["status"] == "action_required")
        task = waiting[legitimate["id"]]["tasks"][0]
        api.post(f"/v1/requests/{legitimate['id']}/tasks/{task['id']}/complete",
                 {"outcome": "done", "decision": "overridden",
                  "note": "Statistiken behövs för nätets säkerhet"})
        api.wait_for([legitimate["id"]], is_final)
        data, html = answer(api, legitimate["id"], "c1001-objection-overridden")
        assert {"objection.overridden"} <= claims(data) and "objection.upheld" not in claims(data)

        restriction = api.create({"type": "restriction",
                                  "details": {"grounds": "accuracy_contested"}}, portal)
        finish(api, [restriction["id"]])
        data, html = answer(api, restriction["id"], "c1001-restriction")
        assert {"restriction.marked", "restriction.told_all"} <= claims(data)
        api.post(f"/v1/requests/{restriction['id']}/lift", {"reason": "Adressen är kontrollerad"})
        waiting = api.wait_for([restriction["id"]], lambda r: r["status"] == "action_required")
        data, html = answer(api, restriction["id"], "c1001-lift-notice")
        assert "lift.notice_undated" in claims(data) and "lift.lifted" not in claims(data)
        assert "två sekunder" in html  # the notice period as configured, never rounded
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is True

        erasure = api.create({"type": "erasure"}, portal)
        finish(api, [erasure["id"]])
        data, html = answer(api, erasure["id"], "c1001-erasure-active")
        assert {"erasure.erased_except_kept", "erasure.kept_for_contract",
                "erasure.told_all"} <= claims(data)
        assert "erasure.all_erased" not in claims(data)

        rejected = api.create({"type": "access", "customer_number": "C-1003",
                               "channel": "letter", "identity_verification": "id_document"},
                              api.agent)
        api.post(f"/v1/requests/{rejected['id']}/reject",
                 {"reason": "excessive", "note": "Fjärde begäran denna vecka"})
        api.wait_for([rejected["id"]], is_final)
        data, html = answer(api, rejected["id"], "c1003-access-rejected")
        assert "Integritetsskyddsmyndigheten" in html and data["rejection"]["reason"] == \
            "excessive"

        ended = date.fromisoformat(
            client.get("/sandbox/crm/customers/C-1003").json()["contract"]["ended_at"][:10])
        as_of = ended + relativedelta(months=12) + timedelta(days=1)
        output_of(retention_run(service, "--as-of", as_of.isoformat()))
        page = client.get("/v1/requests?customer_number=C-1003&type=erasure",
                          headers=api.agent).json()
        erase = page["items"][0]
        api.wait_for([erase["id"]], is_final)
        data, html = answer(api, erase["id"], "c1003-retention-erasure")
        assert "retention.erasure_intro" in claims(data) and "Du har bett" not in html
        assert ended.isoformat() in html
