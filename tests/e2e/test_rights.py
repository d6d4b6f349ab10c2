"""Every right, carried out by a real ``dsr serve`` in every sandbox partner over HTTP.

C-1001's installation company has no API: its tasks are manual, and the agent's part is
played by :func:`tests.e2e.installer.finish`."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

from tests.e2e.installer import finish
from tests.e2e.service import (
    TERMINAL_TASK,
    Api,
    bearer,
    completed,
    deferred_by_system,
    describe,
    tasks_by_system,
)

ALL_PARTNERS = ("crm", "stadsnat", "fortnox", "snpac", "eniro")
# C-1001's installation order (ORD-88001) makes the installation company a recipient too.
WITH_INSTALLER = (*ALL_PARTNERS, "installer")

# (body, the (system, action) pairs C-1001's request must be carried out as)
RIGHTS: dict[str, tuple[dict[str, Any], set[tuple[str, str]]]] = {
    "access": ({"type": "access"}, {(s, "export") for s in WITH_INSTALLER}),
    "erasure": ({"type": "erasure"}, {("crm", "erase"), ("stadsnat", "erase"),
                                      ("fortnox", "erase"), ("snpac", "erase"),
                                      ("eniro", "unlist"), ("installer", "erase")}),
    "rectification": (
        {"type": "rectification", "details": {"changes": {"address": "Storgatan 1"}}},
        # snpac holds no address, so it is not asked
        {("crm", "rectify"), ("stadsnat", "rectify"), ("fortnox", "rectify"),
         ("eniro", "rectify"), ("installer", "rectify")}),
    "restriction": ({"type": "restriction", "details": {"grounds": "accuracy_contested"}},
                    {(s, "restrict") for s in WITH_INSTALLER}),
    "objection": ({"type": "objection", "details": {"processing": "direct_marketing",
                                                    "unlist": True}},
                  {("crm", "stop_marketing"), ("eniro", "unlist")}),
    "portability": ({"type": "portability", "details": {"receiving_operator": "Telia"}},
                    {("crm", "export_provided"), ("snpac", "port_number")}),
}


def test_all_six_rights_complete_in_every_system(api: Api, portal: dict[str, str]) -> None:
    # Access first, on the untouched demo data (an erasure or objection running alongside
    # would race it for the directory listing); then the other five at once.
    created = {"access": api.create(RIGHTS["access"][0], portal)}
    final = finish(api, [created["access"]["id"]])
    created.update({kind: api.create(body, portal)
                    for kind, (body, _) in RIGHTS.items() if kind != "access"})
    for kind, request in created.items():
        assert request["customer_number"] == "C-1001"
        assert request["identity_verification"] == "bankid", kind  # the portal used BankID

    final.update(finish(api, [r["id"] for r in created.values()]))

    for kind, request in created.items():
        result = final[request["id"]]
        expected = RIGHTS[kind][1]
        planned = [t for t in result["tasks"] if not t["scheduled_for"]]
        assert {(t["system"], t["action"]) for t in planned} == expected, describe(result)
        for task in planned:
            assert task["status"] in TERMINAL_TASK, describe(result)
            assert task["attempts"] >= 1 and task["outcome"]["summary"], describe(result)
            assert task["last_error"] is None, describe(result)
        assert result["finished_at"] is not None

    access = final[created["access"]["id"]]
    assert {t["status"] for t in access["tasks"]} == {"done"}, describe(access)

    erasure = tasks_by_system(final[created["erasure"]["id"]])
    assert erasure["crm"]["status"] == "retained"  # an active contract keeps contract data
    # what is kept until a date (accounting, invoices) is scheduled to be erased then
    deferred = deferred_by_system(final[created["erasure"]["id"]])
    assert {s: t["status"] for s, t in deferred.items()} == {"crm": "scheduled",
                                                             "fortnox": "scheduled"}
    assert any(item.get("basis_code") == "contract_in_force"
               and "no art. 17(1) ground" in item["basis"]
               for item in erasure["crm"]["outcome"]["retained"])

    portability = tasks_by_system(final[created["portability"]["id"]])
    assert "Telia" in portability["snpac"]["outcome"]["summary"]

    # A rectification names the fields it changed but never echoes the new values.
    rectification = final[created["rectification"]["id"]]
    assert "address" in str(rectification["details"])
    assert "Storgatan" not in str(rectification)


def test_erasure_of_an_ended_contract_keeps_invoices_and_the_claim(api: Api) -> None:
    created = api.create({"type": "erasure", "customer_number": "C-1002", "channel": "phone",
                          "identity_verification": "bankid"}, api.agent)
    assert created["status"] == "in_progress"  # verified on entry: dispatched at once

    final = api.wait_for([created["id"]], completed)[created["id"]]

    tasks = tasks_by_system(final)
    assert set(tasks) == {"crm", "stadsnat", "fortnox"}, describe(final)
    assert all(t["status"] in TERMINAL_TASK for t in tasks.values()), describe(final)
    fortnox = tasks["fortnox"]
    assert fortnox["status"] == "retained", describe(final)
    retained = {item["code"]: item for item in fortnox["outcome"]["retained"]}
    assert set(retained) == {"invoices", "debtor_identity"}, fortnox
    invoices = retained["invoices"]
    assert "Bokföringslagen" in invoices["basis"]
    assert re.fullmatch(r"\d{4}-12-31", invoices["until"]), invoices  # 31 Dec, 7th year after
    # C-1002 still owes an invoice: a legal claim (art. 17(3)(e)) until it is paid, at most
    # through the last day it can be pursued (three years from its due date)
    claim = retained["debtor_identity"]
    assert "17(3)(e)" in claim["basis"] and claim["basis_code"] == "limitation_period"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", claim["until"]), claim
    # ... and that is when its deferred erasure runs first: the day after
    assert deferred_by_system(final)["fortnox"]["scheduled_for"] == (
        f"{date.fromisoformat(claim['until']) + timedelta(days=1)}T00:00:00Z")


def test_agent_request_waits_for_identity_verification(api: Api, portal: dict[str, str]) -> None:
    waiting = api.create({"type": "access", "customer_number": "C-1001", "channel": "phone"},
                         api.agent)
    assert waiting["status"] == "awaiting_verification"
    assert waiting["tasks"] and {t["status"] for t in waiting["tasks"]} == {"pending"}

    # Proof that the worker is running meanwhile: another request goes all the way through.
    other = api.create({"type": "access"}, portal)
    finish(api, [other["id"]])
    # ... and a little longer than the worker's idle poll (2 s), so an unwoken worker has
    # looked at the queue at least once more without any new work arriving.
    time.sleep(2.5)
    still = api.get(waiting["id"])
    assert still["status"] == "awaiting_verification", describe(still)
    for task in still["tasks"]:
        assert task["status"] == "pending" and task["attempts"] == 0, describe(still)

    verified = api.post(f"/v1/requests/{waiting['id']}/verify", {"method": "bankid"})
    assert verified["status"] == "in_progress"
    assert verified["identity_verification"] == "bankid"

    final = finish(api, [waiting["id"]])[waiting["id"]]
    assert {t["system"] for t in final["tasks"]} == set(WITH_INSTALLER)
    # done or no_data: other tests in this module may have erased C-1001's listing already
    assert all(t["status"] in TERMINAL_TASK and t["attempts"] == 1
               for t in final["tasks"]), describe(final)


def test_portal_token_cannot_see_another_customers_request(
    api: Api, portal: dict[str, str]
) -> None:
    other = api.create({"type": "access"}, bearer("portal", "C-1002"))
    response = api.http.get(f"/v1/requests/{other['id']}", headers=portal)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
