"""A download leaves one event on the trail per caller, package and hour, however it is
fetched (whole, resumed in ranges, or "bytes=0-0" in a loop)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.answers import download
from app.answers.download import DOWNLOAD_EVENT_PERIOD
from app.db import utcnow
from app.models import AuditEvent
from tests.responses.conftest import access_behaviours, connectors, finish


async def _downloads(app, request_id: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == uuid.UUID(request_id),
            AuditEvent.action == "response_downloaded").order_by(AuditEvent.seq)))


async def test_ranged_gets_do_not_grow_the_trail(app, client, portal, agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    body = await finish(app, client, portal, {"type": "access"},
                        connectors(**access_behaviours()))
    url = f"/v1/requests/{body['id']}/response"
    whole = await client.get(url, headers=portal)
    assert whole.status_code == 200
    size = len(whole.content)
    for header in ["bytes=0-0"] * 20 + [f"bytes={n}-{n + 9}" for n in range(0, size - 10, 97)]:
        part = await client.get(url, headers={**portal, "Range": header})
        assert part.status_code == 206
    assert (await client.get(url, headers=portal)).status_code == 200
    events = await _downloads(app, body["id"])
    assert [(e.actor_role, "range" in e.data) for e in events] == [("portal", False)]
    # another caller's download is its own event; an hour on, the customer's is noted again
    assert (await client.get(url, headers={**agent, "Range": "bytes=5-"})).status_code == 206
    later = utcnow() + DOWNLOAD_EVENT_PERIOD + timedelta(seconds=1)
    monkeypatch.setattr(download, "utcnow", lambda: later)
    assert (await client.get(url, headers={**portal, "Range": "bytes=0-0"})).status_code == 206
    events = await _downloads(app, body["id"])
    assert [(e.actor_role, e.data.get("range")) for e in events] == [
        ("portal", None), ("agent", f"5-{size - 1}"), ("portal", "0-0")]
    assert all(e.data["sha256"] == events[0].data["sha256"] for e in events)
