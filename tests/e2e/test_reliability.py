"""Crashes and unreliable partners, with a real ``dsr serve`` and its sandbox over HTTP.

The outcome is checked, never the elapsed time: every wait is a poll with a deadline.
"""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Launch
from tests.e2e.installer import complete_installer, finish
from tests.e2e.service import (
    IN_FLIGHT_TASK,
    SETTLED_TASK,
    TERMINAL_TASK,
    Api,
    ServiceError,
    bearer,
    describe,
    tasks_by_system,
)

PORTAL = bearer("portal", "C-1001")
SIX_RIGHTS: list[dict[str, Any]] = [
    {"type": "access"},
    {"type": "erasure"},
    {"type": "rectification", "details": {"changes": {"address": "Storgatan 1"}}},
    {"type": "restriction", "details": {"grounds": "accuracy_contested"}},
    {"type": "objection", "details": {"processing": "direct_marketing"}},
    {"type": "portability", "details": {"receiving_operator": "Telia"}},
]
OPENDSR = frozenset({"stadsnat", "snpac", "eniro"})


def wait_until_mid_dispatch(api: Api, ids: list[str], timeout_s: float = 20.0) -> dict[str, Any]:
    """Poll until some task is being called (running) and some waits for a partner callback,
    with no request finished yet; return those requests as they were then."""
    deadline = time.monotonic() + timeout_s
    while True:
        snapshot = {request_id: api.get(request_id) for request_id in ids}
        statuses = {t["status"] for r in snapshot.values() for t in r["tasks"]}
        if {"running", "awaiting_callback"} <= statuses:
            return snapshot
        if time.monotonic() >= deadline:
            raise ServiceError("never saw running and awaiting_callback tasks together: "
                               + "; ".join(describe(r) for r in snapshot.values()))
        time.sleep(0.05)  # polling the API for the moment to pull the plug


def test_a_process_killed_mid_dispatch_loses_nothing(launch: Launch) -> None:
    # Slow partners (3 s per answer or callback), so the kill lands with work in flight.
    service = launch({"DSR_SANDBOX_DELAY_MS": "3000", "DSR_LEASE_S": "4",
                      "DSR_CALLBACK_TIMEOUT_S": "2"})
    with service.client() as client:
        api = Api(client)
        ids = [api.create(body, PORTAL)["id"] for body in SIX_RIGHTS[:4]]
        ids.append(api.create({"type": "erasure", "customer_number": "C-1002",
                               "channel": "letter", "identity_verification": "id_document"},
                              api.agent)["id"])
        before = wait_until_mid_dispatch(api, ids)

    service.kill()
    # none finished: each is in progress, or (C-1001's) already waits for the agent's step at
    # the installation company while its partners are still working
    assert all(r["status"] == "in_progress" or (
        r["status"] == "action_required" and {t["status"] for t in r["tasks"]
                                              if t["system"] == "installer"} == {"manual"})
        for r in before.values()), before
    handed_over = {(t["system"], t["id"]) for r in before.values() for t in r["tasks"]
                   if t["status"] == "awaiting_callback"}
    assert handed_over and {system for system, _ in handed_over} <= OPENDSR

    # The same service comes back on the same database and port. Its sandbox starts empty:
    # the jobs handed over before the kill are gone, and their callbacks will never come.
    # Partners are quicker now only to keep the test short.
    service.env["DSR_SANDBOX_DELAY_MS"] = "300"
    service.start()
    with service.client() as client:
        api = Api(client)
        try:  # (C-1001's installation company is an agent's manual step)
            final = finish(api, ids, timeout_s=40)
        except ServiceError as exc:
            raise AssertionError(f"{exc}\n{service.log_tail()}") from None

        for request_id, request in final.items():
            # nothing lost, nothing duplicated: the very tasks planned before the crash (plus
            # the deferred erasure of what an erasure keeps by law, scheduled as it finished)
            planned = {t["id"] for t in request["tasks"] if not t["scheduled_for"]}
            assert planned == {t["id"] for t in before[request_id]["tasks"]}, describe(request)
            assert all(t["status"] in TERMINAL_TASK for t in request["tasks"]), describe(request)
            events = api.events(request_id)
            assert events["chain_intact"], request_id
            actions = [event["action"] for event in events["events"]]
            assert actions.count("request_completed") == 1, actions

        # The restarted partner knows the lost hand-overs: the poll found a 404 and sent the
        # job again (same subject_request_id), and that job is what completed the task.
        for system, task_id in handed_over:
            response = client.get(f"/sandbox/{system}/requests/{task_id}")
            assert response.status_code == 200, (system, response.text)
            assert response.json()["request_status"] == "completed"


def test_unreliable_partners_never_leave_a_request_stuck(launch: Launch) -> None:
    service = launch({
        "DSR_SANDBOX_FAULTS": "fortnox:throttle=0.3,stadsnat:lost_callback=0.5,eniro:error=0.3",
        "DSR_SANDBOX_DELAY_MS": "50",
    })
    with service.client() as client:
        api = Api(client)
        ids = [api.create(body, PORTAL)["id"] for body in SIX_RIGHTS * 2]
        try:
            final = api.wait_settled(ids, timeout_s=45)
        except ServiceError as exc:  # still in progress at the deadline: stuck
            raise AssertionError(f"{exc}\n{service.log_tail()}") from None
        metrics = client.get("/metrics").text

    tasks = [t for r in final.values() for t in r["tasks"]]
    for request in final.values():
        assert request["status"] in ("completed", "action_required"), describe(request)
        assert all(t["status"] in SETTLED_TASK for t in request["tasks"]), describe(request)
        if request["status"] == "action_required":
            assert any(t["status"] in ("failed", "manual") for t in request["tasks"])
        for task in request["tasks"]:
            if task["status"] == "failed":
                assert task["last_error"] and task["last_error"].strip(), describe(request)
    # The faults really fired: retries were scheduled (throttling counts here, though a 429
    # does not use up an attempt; over ~25 throttle/error rolls at 0.3 a miss is ~1e-4 likely).
    retried = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                  if line.startswith("dsr_task_retries_total{"))
    assert retried > 0 or any(t["attempts"] > 1 for t in tasks), "no fault made a retry"


def test_a_partner_that_always_fails_ends_in_action_required_with_a_reason(
    launch: Launch,
) -> None:
    service = launch({"DSR_SANDBOX_FAULTS": "eniro:error=1", "DSR_TASK_MAX_ATTEMPTS": "2"})
    with service.client() as client:
        api = Api(client)
        request_id = api.create({"type": "access"}, PORTAL)["id"]
        request = api.wait_settled([request_id])[request_id]

        assert request["status"] == "action_required", describe(request)
        tasks = tasks_by_system(request)
        eniro = tasks.pop("eniro")
        assert eniro["status"] == "failed" and eniro["attempts"] == 2, describe(request)
        assert eniro["last_error"] == "eniro answered 500 (gave up after 2 attempts)"
        # the installation company has no API: its copy is an agent's step, waiting too
        assert tasks.pop("installer")["status"] == "manual", describe(request)
        assert all(t["status"] == "done" for t in tasks.values()), describe(request)
        trail = api.events(request_id)["events"]
        failed = [e for e in trail if e["action"] == "task_failed"
                  and e["data"]["system"] == "eniro"]
        assert failed and failed[-1]["data"]["reason"] == eniro["last_error"]
        # what the request waits on, as recorded when it needed a person (the first of the
        # two to need one: the manual step is there at once, the failure after retries)
        waiting_on = [w for e in trail if e["action"] == "request_action_required"
                      for w in e["data"]["waiting_on"]]
        assert waiting_on and {w["system"] for w in waiting_on} <= {"eniro", "installer"}
        assert all(w["reason"] == eniro["last_error"] for w in waiting_on
                   if w["system"] == "eniro")
        assert complete_installer(api, request) == 1

    # Eniro is repaired (the service restarts without the fault) and an agent retries.
    service.stop()
    del service.env["DSR_SANDBOX_FAULTS"]
    service.start()
    with service.client() as client:
        api = Api(client)
        retried = api.post(f"/v1/requests/{request_id}/tasks/{eniro['id']}/retry", {})
        assert retried["status"] == "in_progress"
        assert tasks_by_system(retried)["eniro"]["status"] in IN_FLIGHT_TASK
        final = finish(api, [request_id])[request_id]
        eniro_after = tasks_by_system(final)["eniro"]
        assert eniro_after["status"] == "done" and eniro_after["last_error"] is None
