"""The agent's part when a request reaches the installation company, which has no API.

C-1001 has an installation order (ORD-88001), so every access, erasure, rectification of a
field the installer holds, restriction and lift for C-1001 has a ``manual`` installer task: the
request waits in ``action_required`` until an agent has asked the company and completes the
task. :func:`finish` plays that agent, so a test can wait for such a request to complete.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tests.e2e.service import Api, ServiceError, describe

NOTES = {
    "export": "The installation company sent its copy of the order's data",
    "erase": "The installation company confirmed the order's data is erased",
    "rectify": "The installation company confirmed the order's data is corrected",
    "restrict": "The installation company marked the order's data restricted",
    "lift_restriction": "The installation company was told the restriction is lifted",
}


def installer_tasks(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in request["tasks"] if t["system"] == "installer"]


def complete_installer(api: Api, request: dict[str, Any]) -> int:
    """Complete every installer task waiting for a person, as the agent would once the
    company has confirmed; the number completed."""
    completed = 0
    for task in installer_tasks(request):
        if task["status"] != "manual":
            continue
        api.post(f"/v1/requests/{request['id']}/tasks/{task['id']}/complete",
                 {"outcome": "done", "note": NOTES.get(task["action"], "Done")})
        completed += 1
    return completed


def finish(api: Api, request_ids: Iterable[str], *, timeout_s: float = 30.0,
           interval_s: float = 0.1) -> dict[str, dict[str, Any]]:
    """Wait for every request to be ``completed``, completing its installer tasks on the way.

    A request that waits on anything but the installer (a failed task) is left as it is and
    ends in ``ServiceError`` at the deadline, like :meth:`Api.wait_for`."""
    waiting = list(request_ids)
    latest: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        for request_id in list(waiting):
            request = latest[request_id] = api.get(request_id)
            if request["status"] == "completed":
                waiting.remove(request_id)
            elif complete_installer(api, request):
                latest[request_id] = api.get(request_id)
        if not waiting:
            return latest
        if time.monotonic() >= deadline:
            raise ServiceError(f"{len(waiting)} request(s) not completed within {timeout_s} s: "
                               + "; ".join(describe(latest[r]) for r in waiting))
        time.sleep(interval_s)  # polling the API: the service has no push channel
