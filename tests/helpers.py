"""Small builders shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def agent_body(type_: str = "access", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "customer_number": "C-1001", "channel": "phone"}
    body.update(extra)
    return body


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    response = await client.post("/v1/requests", json=body or agent_body(), headers=headers, **kw)
    assert response.status_code == 202, response.text
    return response.json()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body
