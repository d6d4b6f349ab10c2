"""The lifecycle as a new user meets it, over real HTTP with the sandbox slowed down.

Cancelling mid-flight, racing an erasure against a rectification, a partner stuck on 429, and
a separate worker process with its own metrics: each ends in a final, truthful state that the
API, the audit trail, the sandbox's records and the customer's answer agree on.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from typing import Any

import httpx

from tests.e2e.conftest import Launch
from tests.e2e.installer import finish
from tests.e2e.service import (
    TERMINAL_TASK,
    Api,
    Service,
    ServiceError,
    bearer,
    describe,
    free_port,
    settled,
    tasks_by_system,
)

PORTAL_1001 = bearer("portal", "C-1001")
FINAL = ("completed", "rejected", "cancelled")
FORTNOX_BASIC = ("dsr-sandbox", "sandbox-client-secret")


def is_final(request: dict[str, Any]) -> bool:
    return request["status"] in FINAL


def assert_truthful(api: Api, request: dict[str, Any]) -> list[str]:
    """No task of a final request is left open, and every task outcome is on the trail."""
    assert request["status"] in FINAL, describe(request)
    assert all(t["status"] in TERMINAL_TASK for t in request["tasks"]), describe(request)
    trail = api.events(request["id"])
    assert trail["chain_intact"]
    recorded = {e["data"].get("task_id") for e in trail["events"]}
    assert {t["id"] for t in request["tasks"]} <= recorded, describe(request)
    return [e["action"] for e in trail["events"]]


def crm_record(client: httpx.Client, customer: str) -> dict[str, Any]:
    response = client.get(f"/sandbox/crm/customers/{customer}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


def fortnox_card(client: httpx.Client, number: str) -> dict[str, Any]:
    token = client.post("/sandbox/fortnox/oauth-v1/token", auth=FORTNOX_BASIC,
                        data={"grant_type": "client_credentials"}).json()["access_token"]
    response = client.get(f"/sandbox/fortnox/3/customers/{number}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    card: dict[str, Any] = response.json()["Customer"]
    return card


def answer_of(client: httpx.Client, api: Api, request_id: str) -> zipfile.ZipFile:
    deadline = time.monotonic() + 20
    while True:
        response = client.get(f"/v1/requests/{request_id}/response", headers=api.agent)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the worker is still building the answer
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_cancelling_mid_flight_follows_every_sent_task_to_its_outcome(launch: Launch) -> None:
    service = launch({"DSR_SANDBOX_DELAY_MS": "2000", "DSR_CALLBACK_TIMEOUT_S": "30"})
    with service.client() as client:
        api = Api(client)
        created = api.create({"type": "erasure", "customer_number": "C-1002",
                              "channel": "letter"}, api.agent)
        api.post(f"/v1/requests/{created['id']}/verify", {"method": "bankid"})
        time.sleep(0.7)  # the partners have the erasure now and are working on it
        closing = api.post(f"/v1/requests/{created['id']}/cancel",
                           {"note": "Withdrawn by the customer on the phone"})
        assert closing["status"] == "in_progress" and closing["closing_as"] == "cancelled", \
            describe(closing)
        assert {t["status"] for t in closing["tasks"]} & {"running", "awaiting_callback"}

        final = api.wait_for([created["id"]], is_final, timeout_s=30)[created["id"]]
        assert final["status"] == "cancelled", describe(final)
        actions = assert_truthful(api, final)
        assert "cancel_requested" in actions and "request_cancelled" in actions
        last_task_event = max(i for i, a in enumerate(actions) if a.startswith("task_"))
        assert actions.index("request_cancelled") > last_task_event, actions
        # what the partners did is recorded, and it is true of their records
        crm = tasks_by_system(final)["crm"]
        assert crm["status"] == "retained", describe(final)  # accounting records are kept
        # C-1002 owes an invoice: contact details go, the debtor's identity stays for the claim
        record = crm_record(client, "C-1002")
        assert record["email"] is None and record["phone"] is None and record["name"]
        result = json.loads(answer_of(client, api, created["id"]).read("result.json"))
        assert result["outcome"] == "cancelled"
        assert "crm" in result["cancellation"]["carried_out"]
        metrics = client.get("/metrics").text
        assert 'dsr_tasks{status="running",system="crm"}' not in metrics


def test_rejecting_with_callbacks_outstanding_waits_for_them(launch: Launch) -> None:
    service = launch({"DSR_SANDBOX_DELAY_MS": "1500", "DSR_CALLBACK_TIMEOUT_S": "30"})
    with service.client() as client:
        api = Api(client)
        created = api.create({"type": "access"}, PORTAL_1001)
        api.wait_for([created["id"]], lambda r: any(
            t["status"] == "awaiting_callback" for t in r["tasks"]), timeout_s=10)
        rejected = api.post(f"/v1/requests/{created['id']}/reject",
                            {"reason": "excessive", "note": "Fifth identical request"})
        assert rejected["closing_as"] == "rejected", describe(rejected)
        final = api.wait_for([created["id"]], is_final, timeout_s=30)[created["id"]]
        assert final["status"] == "rejected", describe(final)
        assert_truthful(api, final)
        assert {t["status"] for t in final["tasks"]} <= {"done", "no_data", "cancelled"}


def test_an_erasure_is_never_undone_by_a_later_rectification(launch: Launch) -> None:
    service = launch({"DSR_SANDBOX_DELAY_MS": "200"})
    with service.client() as client:
        api = Api(client)
        agent_body = {"customer_number": "C-1002", "channel": "letter",
                      "identity_verification": "bankid"}
        # sequential: the erasure is finished before the rectification arrives
        erasure = api.create({"type": "erasure", **agent_body}, api.agent)
        api.wait_for([erasure["id"]], is_final, timeout_s=20)
        # (C-1002 owes an invoice, so its name stays for the claim; its e-mail was erased)
        later = api.create({"type": "rectification", **agent_body,
                            "details": {"changes": {"email": "bo@example.se"}}}, api.agent)
        # concurrent: all six rights for C-1001 at once
        rights = [api.create(body, PORTAL_1001)["id"] for body in (
            {"type": "erasure"},
            {"type": "rectification", "details": {"changes": {"name": "Astrid Nyberg",
                                                              "address": "Storgatan 1"}}},
            {"type": "restriction", "details": {"grounds": "accuracy_contested"}},
        )]
        final = api.wait_settled([later["id"], *rights], timeout_s=40)

        for system, task in tasks_by_system(final[later["id"]]).items():
            assert task["status"] == "no_data", (system, describe(final[later["id"]]))
            assert f"by request {erasure['id']}" in task["outcome"]["summary"]
        assert crm_record(client, "C-1002")["email"] is None
        assert fortnox_card(client, "1002")["Email"] == ""

        rectified = tasks_by_system(final[rights[1]])
        assert rectified["fortnox"]["status"] == "no_data", describe(final[rights[1]])
        assert rectified["eniro"]["status"] == "no_data", describe(final[rights[1]])
        assert fortnox_card(client, "1001")["Name"] == "Anonymiserad kund"
        # the active contract's register data is kept by law, so correcting it is right
        assert rectified["crm"]["status"] == "done"
        restricted = tasks_by_system(final[rights[2]])
        assert restricted["eniro"]["status"] == "no_data"  # the listing is gone


def test_a_partner_stuck_on_429_ends_in_action_required(launch: Launch) -> None:
    service = launch({"DSR_SANDBOX_FAULTS": "fortnox:throttle=1", "DSR_MAX_THROTTLE_S": "3"})
    with service.client() as client:
        api = Api(client)
        created = api.create({"type": "access"}, PORTAL_1001)
        final = api.wait_for([created["id"]], settled, timeout_s=30)[created["id"]]
        assert final["status"] == "action_required", describe(final)
        fortnox = tasks_by_system(final)["fortnox"]
        assert fortnox["status"] == "failed" and "429" in fortnox["last_error"]
        actions = [e["action"] for e in api.events(created["id"])["events"]]
        assert actions.count("task_throttled") == 1, actions


def start_worker(service: Service, metrics_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
    env.update(service._child_env())
    log = (service.workdir / f"worker-{metrics_port}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--metrics-port", str(metrics_port)],
        cwd=service.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)


def test_a_separate_worker_serves_its_own_partner_metrics(launch: Launch) -> None:
    service = launch({"DSR_RUN_WORKER": "false"})
    port = free_port()
    worker = start_worker(service, port)
    try:
        with service.client() as client:
            api = Api(client)
            created = api.create({"type": "access"}, PORTAL_1001)
            try:  # (the installation company's copy is an agent's manual step)
                finish(api, [created["id"]], timeout_s=30)
            except ServiceError as exc:
                raise AssertionError(str(exc)) from None
        with httpx.Client(trust_env=False, timeout=5) as http:
            text = http.get(f"http://127.0.0.1:{port}/metrics").text
        calls = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                 for line in text.splitlines() if line.startswith("dsr_partner_calls_total{")}
        assert calls.get('system="crm"', 0) >= 1, text
        assert calls.get('system="fortnox"', 0) >= 1, text
    finally:
        worker.terminate()
        worker.wait(timeout=15)
