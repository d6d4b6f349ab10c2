"""Art. 18(3) seen from outside, with no portal configured: ``dsr serve`` lifts a restriction at
no system until an agent has sent the notice letter and ``DSR_LIFT_NOTICE_S`` has passed.

(The portal's path, the notice acknowledged by the portal, is in test_promises.py.)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.conftest import Launch
from tests.e2e.installer import finish
from tests.e2e.service import Api, bearer, describe

NOTICE_S = 2


def notice_of(request: dict[str, Any]) -> dict[str, Any] | None:
    return next((t for t in request["tasks"] if t["action"] == "lift_notice"), None)


def test_without_a_portal_the_lift_waits_for_the_agents_letter_and_the_period(
    launch: Launch,
) -> None:
    service = launch({"DSR_LIFT_NOTICE_S": str(NOTICE_S), "DSR_RETENTION_SWEEP": "false"})
    with service.client() as client:
        api = Api(client)
        restriction = api.create({"type": "restriction",
                                  "details": {"grounds": "accuracy_contested"}},
                                 bearer("portal", "C-1001"))
        request_id = restriction["id"]
        finish(api, [request_id], timeout_s=20)  # the installer's step is an agent's
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is True

        lifting = api.post(f"/v1/requests/{request_id}/lift",
                           {"reason": "The address has been checked and corrected"})
        assert lifting["status"] == "in_progress"
        # the letter is built, then the notice waits for an agent
        waiting = api.wait_for([request_id], lambda r: r["status"] == "action_required",
                               timeout_s=20)[request_id]
        notice = notice_of(waiting)
        assert notice is not None and notice["status"] == "manual", describe(waiting)
        time.sleep(NOTICE_S + 1.5)  # longer than the notice period: still nothing lifts
        waiting = api.get(request_id)
        assert {t["status"] for t in waiting["tasks"] if t["action"] == "lift_restriction"} \
            == {"scheduled"}, describe(waiting)
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is True

        sent = api.post(f"/v1/requests/{request_id}/tasks/{notice['id']}/complete",
                        {"outcome": "done", "note": "Letter posted to the customer"})
        assert sent["status"] == "in_progress"
        final = finish(api, [request_id], timeout_s=30)[request_id]
        lifts = [t for t in final["tasks"] if t["action"] == "lift_restriction"]
        assert {t["system"] for t in lifts} == {
            "crm", "stadsnat", "fortnox", "snpac", "eniro", "installer"}, describe(final)
        assert {t["status"] for t in lifts} == {"done"}, describe(final)
        assert client.get("/sandbox/crm/customers/C-1001").json()["restricted"] is False

        trail = api.events(request_id)["events"]
        at = datetime.fromisoformat
        delivered = next(e for e in trail if e["action"] == "lift_notice_delivered")
        assert delivered["data"]["via"] == "agent"
        sent_at = at(delivered["data"]["delivered_at"])
        assert at(delivered["data"]["lift_from"]) == sent_at + timedelta(seconds=NOTICE_S)
        lift_ids = {t["id"] for t in lifts}
        first_lift = min(at(e["at"]) for e in trail if e["data"].get("task_id") in lift_ids)
        assert first_lift >= sent_at + timedelta(seconds=NOTICE_S)
        letter = [at(e["at"]) for e in trail if e["action"] == "response_built"][-1]
        assert at(next(e["at"] for e in trail if e["action"] == "lift_requested")) < letter \
            < sent_at
