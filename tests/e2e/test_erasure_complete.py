"""Nothing is kept silently: after an erasure, an access request shows nothing the erasure's
answer neither erased nor listed as retained, in the register and at every partner.

A real ``dsr serve`` with its sandbox: C-1001 (active, data everywhere, an installation order)
and C-1002 (ended, an unpaid invoice) are erased, then asked for access; every category of data
the access answer still shows must be accounted for by a retained item of the erasure (with a
category code, a basis code and the last day it is kept), and the installation company, a
recipient with no API, is reached by a manual task like any other recipient (art. 19).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Launch
from tests.e2e.installer import finish, installer_tasks
from tests.e2e.service import Api, bearer, deferred_by_system, describe, tasks_by_system

# Register categories of the access answer -> the retained code that must account for each
# when it is not empty after an erasure. ``None``: it must be empty (erased).
REGISTER: dict[str, str | None] = {
    "services": "contract_data", "sources": "data_sources",
    "billing": "accounting_records", "installation_orders": "installation_order",
    "support_tickets": "open_support_tickets", "credit_checks": "credit_check",
    "traffic_data_calls": "billing_call_history",
    "consents": None, "order_ip_log": None, "service_contacts": None, "email_log": None,
    "ip_log": None, "website_visits": None,
}
IDENTITY = ("name", "personnummer", "email", "phone", "address")
# Partner categories of the access answer -> the retained code that accounts for each.
PARTNERS: dict[str, dict[str, str]] = {
    "stadsnat": {"connection": "connection_address"},
    "snpac": {"porting_record": "number_record"},
    "fortnox": {"invoices": "invoices"},
}
AGENT = {"channel": "letter", "identity_verification": "bankid"}


def package(client: httpx.Client, api: Api, request_id: str) -> zipfile.ZipFile:
    response = client.get(f"/v1/requests/{request_id}/response", headers=api.agent)
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def held(value: Any) -> bool:
    """Whether a category still holds something (an empty list or record holds nothing)."""
    if isinstance(value, dict):
        return any(held(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value not in (None, "", False)


def retained_codes(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in task["outcome"].get("retained", [])}


def unaccounted(system: str, categories: dict[str, Any], kept: set[str],
                identity_code: str | None) -> list[str]:
    """What the access answer shows of ``system`` that the erasure's retained codes do not
    account for."""
    found = []
    if system == "crm":
        for name, value in categories.items():
            if name == "customer_data":
                shown = [f for f in IDENTITY if held(value.get(f))]
                if shown and identity_code not in kept:
                    found.append(f"customer_data: {shown}")
                continue
            if name not in REGISTER:
                found.append(f"{name}: a category no erasure rule names")
            elif held(value) and REGISTER[name] not in kept:
                found.append(name)
        return found
    if system == "fortnox":
        card = categories.get("customer_card") or {}
        personal = [f for f in ("Email", "Phone1", "Address1", "OrganisationNumber")
                    if held(card.get(f))]
        if personal and "debtor_identity" not in kept:
            found.append(f"customer_card: {personal}")
    for name, value in categories.items():
        code = PARTNERS.get(system, {}).get(name)
        if code is not None and held(value) and code not in kept:
            found.append(name)
    return found


def check_items(system: str, items: dict[str, dict[str, Any]]) -> None:
    for code, item in items.items():
        assert code and item.get("basis_code") and item["basis"], (system, item)
        if item["until"] is not None:
            date.fromisoformat(item["until"])
        if item["basis_code"] == "contract_in_force":  # goes under the post-contract rule
            assert item["until"] is None, (system, item)


def test_an_erasure_leaves_nothing_that_its_answer_does_not_account_for(
    launch: Launch,
) -> None:
    service = launch({"DSR_RETENTION_SWEEP": "false"})
    with service.client() as client:
        api = Api(client)
        erasures = {
            "C-1001": api.create({"type": "erasure"}, bearer("portal", "C-1001"))["id"],
            "C-1002": api.create({"type": "erasure", "customer_number": "C-1002", **AGENT},
                                 api.agent)["id"],
        }
        erased = finish(api, erasures.values(), timeout_s=30)

        # art. 19: the installation company that had C-1001's order is asked, by order id
        c1001 = erased[erasures["C-1001"]]
        [installer] = installer_tasks(c1001)
        assert (installer["action"], installer["status"]) == ("erase", "done"), describe(c1001)
        assert not installer_tasks(erased[erasures["C-1002"]])  # no order, no task

        accesses = {
            "C-1001": api.create({"type": "access"}, bearer("portal", "C-1001"))["id"],
            "C-1002": api.create({"type": "access", "customer_number": "C-1002", **AGENT},
                                 api.agent)["id"],
        }
        finish(api, accesses.values(), timeout_s=30)

        for customer, identity in (("C-1001", "contract_data"), ("C-1002", "debtor_identity")):
            erasure = erased[erasures[customer]]
            tasks = tasks_by_system(erasure)
            data = json.loads(package(client, api, accesses[customer]).read("data.json"))
            shown = {s["system"]: s["categories"] for s in data["systems"]}
            for system, task in tasks.items():
                if system == "installer":  # an agent's step: what it holds is on the order
                    continue
                kept = retained_codes(task)
                check_items(system, kept)
                missing = unaccounted(system, shown.get(system) or {}, set(kept), identity)
                assert missing == [], (customer, system, missing, task["outcome"])

            # what is kept until a date is erased the day after its last day, as scheduled work
            for system, deferred in deferred_by_system(erasure).items():
                dated = [i["until"] for i in retained_codes(tasks[system]).values() if i["until"]]
                first = date.fromisoformat(min(dated)) + timedelta(days=1)
                scheduled = datetime.fromisoformat(deferred["scheduled_for"].replace("Z", "+00:00"))
                assert scheduled.date() == first, (customer, system, deferred)

        # the active customer's register keeps the contract's data for the contract, not by
        # a law, and its billing calls and accounting records each to a date
        crm = retained_codes(tasks_by_system(erased[erasures["C-1001"]])["crm"])
        assert {code: (item["basis_code"], item["until"] is None) for code, item in crm.items()} \
            == {"contract_data": ("contract_in_force", True),
                "installation_order": ("contract_in_force", True),
                "data_sources": ("contract_in_force", True),
                "billing_call_history": ("traffic_billing", False),
                "accounting_records": ("bookkeeping", False)}, crm
        # the ended customer's debt keeps its identity at most through the limitation date
        for system in ("crm", "fortnox"):
            claim = retained_codes(tasks_by_system(erased[erasures["C-1002"]])[system])[
                "debtor_identity"]
            assert claim["basis_code"] == "limitation_period" and claim["until"], claim


def test_a_rectification_of_the_address_reaches_the_installation_company(
    launch: Launch,
) -> None:
    service = launch({"DSR_RETENTION_SWEEP": "false"})
    with service.client() as client:
        api = Api(client)
        created = api.create({"type": "rectification",
                              "details": {"changes": {"address": "Storgatan 1"}}},
                             bearer("portal", "C-1001"))
        waiting = api.wait_for([created["id"]], lambda r: any(
            t["system"] == "installer" and t["status"] == "manual" for t in r["tasks"]),
            timeout_s=20)[created["id"]]
        [task] = installer_tasks(waiting)
        assert task["action"] == "rectify" and waiting["status"] in (
            "action_required", "in_progress"), describe(waiting)
        # the agent's instruction names what to do, never the new value
        assert "Storgatan" not in json.dumps(task)
        final = finish(api, [created["id"]])[created["id"]]
        assert tasks_by_system(final)["installer"]["status"] == "done", describe(final)
