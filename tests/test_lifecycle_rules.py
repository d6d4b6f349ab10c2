"""Deadlines (calendar months), the audit chain's tamper evidence, concurrent idempotency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.db import utcnow
from app.models import AuditEvent, DsrRequest
from app.services import audit
from app.services.requests import due_date
from tests.helpers import agent_body, assert_problem, create


@pytest.mark.parametrize(
    ("received", "extended", "due"),
    [
        ("2027-01-31T10:00:00", 0, "2027-02-28T10:00:00"),
        ("2028-01-31T10:00:00", 0, "2028-02-29T10:00:00"),  # leap year
        ("2027-01-31T10:00:00", 2, "2027-04-30T10:00:00"),  # counted from receipt
        ("2027-03-31T10:00:00", 1, "2027-05-31T10:00:00"),
        ("2027-12-15T23:30:00", 0, "2028-01-15T23:30:00"),
        ("2027-05-31T00:00:00", 0, "2027-06-30T00:00:00"),
    ],
)
def test_due_date_is_calendar_months_from_receipt(received: str, extended: int, due: str) -> None:
    start = datetime.fromisoformat(received).replace(tzinfo=UTC)
    assert due_date(start, extended) == datetime.fromisoformat(due).replace(tzinfo=UTC)


async def test_extension_only_within_first_month(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    async with app.state.sessionmaker() as session, session.begin():
        received = utcnow() - timedelta(days=40)
        await session.execute(
            update(DsrRequest).where(DsrRequest.id == uuid.UUID(created["id"]))  # type: ignore[arg-type]
            .values(received_at=received, due_at=due_date(received))
        )
    response = await client.post(f"/v1/requests/{created['id']}/extend",
                                 json={"months": 1, "reason": "late"}, headers=agent)
    assert "within one month" in assert_problem(response, 409)["detail"]


async def _walk(client, agent) -> str:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    rid = created["id"]
    await client.post(f"/v1/requests/{rid}/verify", json={"method": "bankid"}, headers=agent)
    await client.post(f"/v1/requests/{rid}/extend", json={"months": 1, "reason": "x"},
                      headers=agent)
    await client.post(f"/v1/requests/{rid}/cancel", json={"note": "x"}, headers=agent)
    return rid


async def _chain(app, rid: str) -> audit.ChainReport:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        request = await session.get(DsrRequest, uuid.UUID(rid))
        assert request is not None
        return await audit.verify_chain(session, request)


async def _tamper(app, statement) -> None:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(statement)


async def test_intact_chain_verifies(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    rid = await _walk(client, agent)
    report = await _chain(app, rid)
    # created, verified, extended, task_cancelled, cancelled
    assert report.ok and report.events == 5


@pytest.mark.parametrize(
    ("how", "seq"),
    [("edit_actor", 2), ("edit_data", 3), ("delete_middle", 2), ("delete_last", 4),
     ("rehash_edit", 2)],
)
async def test_tampering_is_detected(client, agent, app, how: str, seq: int) -> None:  # type: ignore[no-untyped-def]
    rid = uuid.UUID(await _walk(client, agent))
    where = (AuditEvent.request_id == rid) & (AuditEvent.seq == seq)  # type: ignore[operator]
    if how == "edit_actor":
        await _tamper(app, update(AuditEvent).where(where).values(actor="someone-else"))
    elif how == "edit_data":
        await _tamper(app, update(AuditEvent).where(where).values(data={"months": 2}))
    elif how.startswith("delete"):
        await _tamper(app, delete(AuditEvent).where(where))
    else:
        # a careful forger recomputes the edited event's own hash: the next link still breaks
        async with app.state.sessionmaker() as session, session.begin():
            event = (await session.scalars(select(AuditEvent).where(where))).one()
            event.actor = "forger"
            event.hash = audit.event_hash(event.prev_hash, event)
    report = await _chain(app, str(rid))
    assert not report.ok
    assert report.broken_at is not None and report.broken_at >= seq - 1
    trail = (await client.get(f"/v1/requests/{rid}/events", headers=agent)).json()
    assert trail["chain_intact"] is False


async def test_concurrent_duplicates_make_one_request(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    headers = {**agent, "Idempotency-Key": "double-click-" + uuid.uuid4().hex}
    responses = await asyncio.gather(
        *[client.post("/v1/requests", json=agent_body(), headers=headers) for _ in range(8)]
    )
    assert {r.status_code for r in responses} == {202}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DsrRequest)) == 1
