"""`dsr audit verify` also holds each stored answer's claims (result.json / data.json) to the
trail: every event ``seq`` a claim rests on exists."""

from __future__ import annotations

import uuid
from typing import Any

from app.audit import keys, trail
from app.db import utcnow
from tests.responses.conftest import access_behaviours, connectors, download, finish, link


async def test_the_claims_of_a_stored_answer_name_events_of_its_trail(  # type: ignore[no-untyped-def]
        app, client, portal, agent) -> None:
    await link(client, agent, "C-1001", "fortnox", "1001")
    body: dict[str, Any] = await finish(app, client, portal, {"type": "access"},
                                        connectors(**access_behaviours()))
    assert body["status"] == "completed"
    await download(client, portal, body["id"])  # the answer is stored
    verdict = await trail.verify_all(app.state.sessionmaker, keys.current(), now=utcnow(),
                                     retention_days=1095, vault=app.state.vault)
    assert verdict.ok, verdict.failures
    # held to a trail of one event (as if the rest were gone), the claims name missing ones
    rid = uuid.UUID(body["id"])
    problems = await trail._claims(app.state.sessionmaker, app.state.vault, {rid: (1, "")})
    assert len(problems) == 1 and problems[0].startswith(f"request {rid}: the answer's ")
    assert "the trail does not have" in problems[0]
