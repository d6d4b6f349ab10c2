"""Every promise a letter makes over time has code that keeps it, seen from outside.

Deferred erasure on its date (once, however many runners), the policy's lock after 6 months
and erasure after 12, lifting a restriction with the notice first, and the portal told of each
step by signed notifications, over real HTTP with ``dsr serve``, ``dsr retention run`` and a
portal receiver of our own.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from dateutil.relativedelta import relativedelta
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Launch
from tests.e2e.installer import finish
from tests.e2e.service import (
    Api,
    Service,
    bearer,
    deferred_by_system,
    describe,
    free_port,
    tasks_by_system,
)

AGENT_C1002 = {"customer_number": "C-1002", "channel": "letter",
               "identity_verification": "bankid"}
FORTNOX_BASIC = ("dsr-sandbox", "sandbox-client-secret")
PORTAL_SECRET = "whsec_" + "cG9ydGFsLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="
# What the demo customers' records hold that must never reach the portal in a notification.
PERSONAL = ("Astrid", "Exempelsson", "19850412", "example.se", "Storgatan", "+4647")


def is_final(request: dict[str, Any]) -> bool:
    return request["status"] in ("completed", "rejected", "cancelled")


def retention_run(service: Service, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "retention", "run", *args], cwd=service.workdir,
        env=service._child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def output_of(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def fortnox(client: httpx.Client, path: str) -> dict[str, Any]:
    token = client.post("/sandbox/fortnox/oauth-v1/token", auth=FORTNOX_BASIC,
                        data={"grant_type": "client_credentials"}).json()["access_token"]
    response = client.get(f"/sandbox/fortnox{path}", headers={"Authorization": f"Bearer {token}"})
    body: dict[str, Any] = response.json()
    return body


def task_events(api: Api, request_id: str, task_id: str) -> list[str]:
    return [e["action"] for e in api.events(request_id)["events"]
            if e["data"].get("task_id") == task_id]


def test_a_deferred_erasure_runs_once_on_its_date(launch: Launch) -> None:
    service = launch({"DSR_RETENTION_SWEEP": "false"})
    with service.client() as client:
        api = Api(client)
        erasure = api.create({"type": "erasure", **AGENT_C1002}, api.agent)
        done = api.wait_for([erasure["id"]], is_final, timeout_s=20)[erasure["id"]]
        # C-1002's unpaid invoice keeps the debtor's identity, at most through the last day
        # the claim can be pursued: the deferred erasure runs the day after that
        claim = date.fromisoformat(next(
            item["until"] for item in tasks_by_system(done)["crm"]["outcome"]["retained"]
            if item["code"] == "debtor_identity"))
        first = claim + timedelta(days=1)
        deferred = deferred_by_system(done)
        assert {s: (t["status"], t["scheduled_for"]) for s, t in deferred.items()} == {
            "crm": ("scheduled", f"{first}T00:00:00Z"),
            "fortnox": ("scheduled", f"{first}T00:00:00Z")}, describe(done)
        assert len(fortnox(client, "/3/invoices?customernumber=1002")["Invoices"]) == 4

        # Not due today: a run today does nothing to it.
        assert "erase_retained" not in output_of(retention_run(service))
        # Two runners at once on the day after it is due: each task runs once.
        runs = [retention_run(service, "--as-of", (first + timedelta(days=1)).isoformat())
                for _ in range(2)]
        outputs = [output_of(run) for run in runs]
        ran = [line for out in outputs for line in out.splitlines()
               if line.startswith("ran:") and "erase_retained" in line and erasure["id"] in line]
        assert len(ran) == 2, "\n".join(outputs)  # crm and fortnox, each by exactly one of the runners

        after = api.get(erasure["id"])
        assert after["status"] == "completed"
        deferred = deferred_by_system(after)
        # The claim is time-barred: the identity kept for it went; every invoice, the unpaid
        # one too, stays an accounting record through 31 December of its seventh year, and
        # the task is due again the day after.
        assert {s: (t["status"], t["scheduled_for"]) for s, t in deferred.items()} == {
            "crm": ("scheduled", "2034-01-01T00:00:00Z"),
            "fortnox": ("scheduled", "2034-01-01T00:00:00Z")}, describe(after)
        kept = client.get("/sandbox/crm/customers/C-1002").json()
        assert kept["name"] is None and kept["personnummer"] is None and kept["address"] is None
        assert len(kept["billing_records"]) == 4
        card = fortnox(client, "/3/customers/1002")["Customer"]
        assert card["OrganisationNumber"] == "" and card["Address1"] == "", card
        assert len(fortnox(client, "/3/invoices?customernumber=1002")["Invoices"]) == 4
        for system, task in deferred.items():
            actions = task_events(api, erasure["id"], task["id"])
            assert actions[0] == "deferred_erasure_scheduled", (system, actions)
            assert actions.count("task_rescheduled") == 1, actions

        # From 1 January 2034 the seven years are over: two runners again, each task once.
        runs = [retention_run(service, "--as-of", "2034-01-02") for _ in range(2)]
        outputs = [output_of(run) for run in runs]
        ran = [line for out in outputs for line in out.splitlines()
               if line.startswith("ran:") and "erase_retained" in line and erasure["id"] in line]
        assert len(ran) == 2, "\n".join(outputs)
        final = deferred_by_system(api.get(erasure["id"]))
        assert {s: t["status"] for s, t in final.items()} == {"crm": "done",
                                                             "fortnox": "done"}, final
        assert fortnox(client, "/3/invoices?customernumber=1002")["Invoices"] == []
        assert client.get("/sandbox/crm/customers/C-1002").json()["billing_records"] == []
        for system, task in final.items():
            actions = task_events(api, erasure["id"], task["id"])
            assert sum(a in ("task_done", "task_retained") for a in actions) == 1, (system,
                                                                                   actions)
        # and a third run finds nothing more to do for it
        third = output_of(retention_run(service, "--as-of", "2034-01-02")).splitlines()
        assert not [line for line in third if line.startswith("ran:") and erasure["id"] in line]


def test_the_retention_sweep_locks_then_erases_a_departed_customer(launch: Launch) -> None:
    service = launch({})
    with service.client() as client:
        api = Api(client)
        ended = date.fromisoformat(
            client.get("/sandbox/crm/customers/C-1003").json()["contract"]["ended_at"][:10])

        def c1003() -> list[dict[str, Any]]:
            page = client.get("/v1/requests?customer_number=C-1003", headers=api.agent).json()
            items: list[dict[str, Any]] = page["items"]
            return items

        # The worker's daily sweep has run at start: C-1003 left over 6 months ago.
        locks = api.wait_for_list(c1003, lambda items: len(items) == 1, timeout_s=20)
        lock = locks[0]
        assert (lock["type"], lock["channel"]) == ("restriction", "retention")
        api.wait_for([lock["id"]], is_final, timeout_s=20)
        assert client.get("/sandbox/crm/customers/C-1003").json()["restricted"] is True

        as_of = ended + relativedelta(months=12) + timedelta(days=1)
        out = output_of(retention_run(service, "--as-of", as_of.isoformat()))
        assert "C-1003" in out and "erasure request" in out and "created" in out, out
        erasure = next(r for r in c1003() if r["type"] == "erasure")
        final = api.wait_for([erasure["id"]], is_final, timeout_s=20)[erasure["id"]]
        assert final["channel"] == "retention" and final["status"] == "completed"
        record = client.get("/sandbox/crm/customers/C-1003").json()
        assert record["name"] is None and record["billing_records"], record  # accounting stays
        kept = tasks_by_system(final)["crm"]["outcome"]["retained"]
        assert [(item["code"], item["basis_code"]) for item in kept] == [
            ("accounting_records", "bookkeeping")]

        again = output_of(retention_run(service, "--as-of", as_of.isoformat()))
        assert "created" not in again, again
        assert len(c1003()) == 2  # the lock and the erasure, nothing twice


class Receiver:
    """A portal backend: fails the first ``failures`` deliveries, then accepts, and keeps all."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = 500 if receiver.failures > 0 else 204
                receiver.failures -= 1
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()},
                                          body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dsr-events"

    def accepted(self) -> list[dict[str, Any]]:
        """The events accepted, each verified with the portal's secret."""
        events = []
        for headers, body, status in self.received:
            if status == 204:
                events.append(Webhook(PORTAL_SECRET).verify(body, headers))
        return events


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(failures=2)
    made.thread.start()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()


def portal_env(receiver: Receiver) -> dict[str, str]:
    return {"DSR_PORTAL_WEBHOOK_URL": receiver.url, "DSR_PORTAL_WEBHOOK_SECRET": PORTAL_SECRET,
            "DSR_NOTIFY_RETRY_BASE_S": "0.2", "DSR_NOTIFY_RETRY_MAX_S": "0.5",
            "DSR_RETENTION_SWEEP": "false"}


def test_the_portal_hears_every_event_once_in_order_signed(
    launch: Launch, receiver: Receiver
) -> None:
    service = launch(portal_env(receiver))
    with service.client() as client:
        api = Api(client)
        entered = api.create({"type": "access", "customer_number": "C-1001",
                              "channel": "phone"}, api.agent)
        api.post(f"/v1/requests/{entered['id']}/extend",
                 {"months": 1, "reason": "Data held by several partners"})
        api.post(f"/v1/requests/{entered['id']}/verify", {"method": "bankid"})
        # C-1001's installation company has no API: the request waits for an agent's step
        # (the portal is told), then completes
        finish(api, [entered["id"]], timeout_s=20)
        expected = ["request.received", "request.extended", "request.verified",
                    "request.action_required", "request.completed"]
        shown = api.wait_for_list(
            lambda: client.get(f"/v1/requests/{entered['id']}/notifications",
                               headers=api.agent).json()["items"],
            lambda items: [n["status"] for n in items] == ["delivered"] * len(expected),
            timeout_s=20)
        assert [n["event"] for n in shown] == expected
        assert shown[0]["attempts"] == 3  # failed twice, then accepted

        events = [e for e in receiver.accepted() if e["data"]["request_id"] == entered["id"]]
        assert [e["type"] for e in events] == expected  # each once, in order
        extended = events[1]["data"]
        # dates and codes, never the agent's free text (the reason is on the request)
        assert extended["extended_months"] == 1 and extended["due_at"]
        assert "reason" not in extended and "several partners" not in json.dumps(events)
        assert events[4]["data"]["response_url"] == f"/v1/requests/{entered['id']}/response"
        raw = b" ".join(body for _, body, _ in receiver.received).decode()
        assert not [word for word in PERSONAL if word in raw]
        # one webhook-id per notification, kept across its delivery attempts
        ids = [headers["webhook-id"] for headers, _, _ in receiver.received]
        assert len(set(ids)) == len(receiver.accepted())


def test_lifting_a_restriction_tells_the_customer_first(
    launch: Launch, receiver: Receiver
) -> None:
    service = launch({**portal_env(receiver), "DSR_LIFT_NOTICE_S": "2"})
    with service.client() as client:
        api = Api(client)
        restriction = api.create({"type": "restriction",
                                  "details": {"grounds": "accuracy_contested"}},
                                 bearer("portal", "C-1001"))
        finish(api, [restriction["id"]], timeout_s=20)  # the installer's step is an agent's
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is True
        # The customer has the first answer (so there is one for the lift to supersede).
        assert client.get(f"/v1/requests/{restriction['id']}/response",
                          headers=api.agent).status_code == 200

        lifting = api.post(f"/v1/requests/{restriction['id']}/lift",
                           {"reason": "The address has been checked and corrected"})
        assert lifting["status"] == "in_progress"
        assert lifting["lift_reason"] == "The address has been checked and corrected"
        final = finish(api, [restriction["id"]], timeout_s=30)[restriction["id"]]
        lifts = {t["system"]: t for t in final["tasks"] if t["action"] == "lift_restriction"}
        assert set(lifts) == {"crm", "stadsnat", "fortnox", "snpac", "eniro", "installer"}, \
            describe(final)
        assert {t["status"] for t in lifts.values()} == {"done"}, describe(final)
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is False
        assert fortnox(client, "/3/customers/1001")["Customer"]["Active"] is True

        # the notice was delivered, and the notice period had passed, before the first
        # system lifted anything; the letter was stored before that
        notices = client.get(f"/v1/requests/{restriction['id']}/notifications",
                             headers=api.agent).json()["items"]
        notice = next(n for n in notices if n["event"] == "restriction.lift_notice")
        assert notice["status"] == "delivered"
        assert "reason" not in notice["payload"] and notice["payload"]["notice_period_s"] == 2
        trail = api.events(restriction["id"])["events"]
        first_lift = min(e["at"] for e in trail if e["data"].get("task_id") in {
            t["id"] for t in lifts.values()} and e["action"] != "task_scheduled")
        delivered = next(e for e in trail if e["action"] == "lift_notice_delivered")
        assert delivered["data"]["via"] == "portal"
        at = datetime.fromisoformat
        assert at(notice["delivered_at"]) + timedelta(seconds=2) == at(
            delivered["data"]["lift_from"]) <= at(first_lift)
        letter = [e["at"] for e in trail if e["action"] == "response_built"][-1]
        assert at(next(e["at"] for e in trail if e["action"] == "lift_requested")) \
            < at(letter) < at(notice["delivered_at"])
        # and the answer now carries the lift letter
        response = client.get(f"/v1/requests/{restriction['id']}/response",
                              headers=api.agent)
        assert response.status_code == 200
        package = zipfile.ZipFile(io.BytesIO(response.content))
        result = json.loads(package.read("result.json"))
        assert result["lift"]["reason"] == "The address has been checked and corrected"
        assert "Begränsningen hävs" in package.read("report.html").decode()
        actions = [e["action"] for e in trail]
        lifted = actions.index("lift_requested")
        # an answer built before the lift was replaced (its SHA-256 stays on the trail)
        assert ("response_built" in actions[:lifted]) == ("response_superseded" in actions)
