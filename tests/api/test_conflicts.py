"""Each 409 names its situation in ``type``, so a caller tells apart what stopped its action;
the detail text stays the one written at the raise site."""

from __future__ import annotations

from typing import Any

import httpx

from app.errors import PROBLEM_BASE, Conflict, InvalidState, problem_types
from tests.helpers import agent_body, assert_problem, create


def _slug(response: httpx.Response) -> str:
    body: dict[str, Any] = assert_problem(response, 409)
    return str(body["type"]).removeprefix(PROBLEM_BASE)


def test_every_409_is_a_problem_type_of_its_own() -> None:
    kinds = [kind for kind in problem_types() if kind.status == 409]
    assert all(issubclass(kind, Conflict) for kind in kinds)
    for attribute in ("slug", "title", "meaning"):
        assert len({getattr(kind, attribute) for kind in kinds}) == len(kinds), attribute
    # an action the request's or task's state does not allow: still caught as InvalidState
    refused = {kind.slug for kind in kinds if issubclass(kind, InvalidState)}
    assert {"invalid-state", "request-closing", "request-not-finished", "task-not-retryable",
            "task-not-completable", "extension-limit-reached", "notice-letter-not-ready",
            } <= refused
    assert "idempotency-key-reused" not in refused


async def test_an_extension_says_why_it_is_refused(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    url = f"/v1/requests/{created['id']}"
    assert (await client.post(f"{url}/extend", json={"months": 2, "reason": "many systems"},
                              headers=agent)).status_code == 200
    again = await client.post(f"{url}/extend", json={"months": 1, "reason": "more"},
                              headers=agent)
    assert _slug(again) == "extension-limit-reached"
    assert "0 month(s) remain" in again.json()["detail"]
    assert (await client.post(f"{url}/cancel", json={"note": "withdrawn"},
                              headers=agent)).status_code == 200
    finished = await client.post(f"{url}/extend", json={"months": 1, "reason": "x"},
                                 headers=agent)
    assert _slug(finished) == "invalid-state"
    assert finished.json()["detail"] == "Cannot extend a request that is cancelled."


async def test_a_task_action_says_why_it_is_refused(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body(identity_verification="bankid"))
    url = f"/v1/requests/{created['id']}"
    task = next(t for t in created["tasks"] if t["status"] == "pending")
    retried = await client.post(f"{url}/tasks/{task['id']}/retry", headers=agent)
    assert _slug(retried) == "task-not-retryable"
    assert retried.json()["detail"] == ("Only a failed task can be retried; this one is "
                                        "pending.")
    completed = await client.post(f"{url}/tasks/{task['id']}/complete",
                                  json={"outcome": "done", "note": "done by hand"},
                                  headers=agent)
    assert _slug(completed) == "task-not-completable"


async def test_a_response_before_the_request_is_finished(client, agent) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    early = await client.get(f"/v1/requests/{created['id']}/response", headers=agent)
    assert _slug(early) == "request-not-finished"
    assert early.json()["detail"] == "The response is produced when the request is finished."
