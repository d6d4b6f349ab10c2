"""Partner callbacks over real HTTP: only correctly signed, fresh ones get in."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from app.settings import dev_webhook_secret
from tests.e2e.service import Api

PROBLEM = "application/problem+json"


def callback_body(task_id: uuid.UUID) -> str:
    return json.dumps({"subject_request_id": str(task_id), "request_status": "completed",
                       "subject_identities": [{"identity_type": "controller_customer_id",
                                               "identity_value": "SN-440017"}],
                       "result": {"outcome": "done", "summary": "Done.", "retained": []}})


def signed(secret: str, body: str, *, when: datetime | None = None,
           msg_id: str | None = None) -> dict[str, str]:
    when = when or datetime.now(UTC)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return {"content-type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body)}


def assert_unauthorized(response_status: int, content_type: str, body: dict[str, object]) -> None:
    assert response_status == 401, body
    assert content_type.startswith(PROBLEM)
    assert body["status"] == 401 and body["title"] and body["detail"]


def test_unsigned_callback_is_401_problem(api: Api) -> None:
    response = api.http.post("/v1/webhooks/stadsnat", content=callback_body(uuid.uuid4()),
                             headers={"content-type": "application/json"})
    assert_unauthorized(response.status_code, response.headers["content-type"], response.json())
    assert "signature" in response.json()["detail"]


def test_wrongly_signed_or_stale_callback_is_401(api: Api) -> None:
    body = callback_body(uuid.uuid4())
    other_secret = dev_webhook_secret("eniro")  # a real secret, but another partner's
    stale = datetime.now(UTC) - timedelta(minutes=6)  # outside the 5-minute window
    for headers in (signed(other_secret, body),
                    signed(dev_webhook_secret("stadsnat"), body, when=stale),
                    {**signed(dev_webhook_secret("stadsnat"), body), "webhook-signature": "v1,"
                     + "A" * 44}):
        response = api.http.post("/v1/webhooks/stadsnat", content=body, headers=headers)
        assert_unauthorized(response.status_code, response.headers["content-type"],
                            response.json())


def test_correctly_signed_callback_gets_past_the_signature_check(api: Api) -> None:
    """The positive control: the same request, signed with stadsnät's secret, is not 401."""
    body = callback_body(uuid.uuid4())  # a task the service never created
    headers = signed(dev_webhook_secret("stadsnat"), body)
    response = api.http.post("/v1/webhooks/stadsnat", content=body, headers=headers)
    # verified, then refused only because no stadsnät task has that id
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "task" in response.json()["detail"]
