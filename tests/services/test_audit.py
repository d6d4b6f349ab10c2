"""The keyed chain and its ledger: what a transaction writes, savepoints, the migration that
re-keys existing chains, and the cost on the hot path."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from app.audit import keys, trail
from app.db import create_engine, create_sessionmaker, utcnow
from app.models import AuditLedger, DsrRequest
from app.services import audit
from app.services.audit import GENESIS, _canonical
from tests.conftest import BACKEND
from tests.helpers import agent_body, create


async def _verify(app) -> trail.Verdict:  # type: ignore[no-untyped-def]
    return await trail.verify_all(app.state.sessionmaker, keys.current(), now=utcnow(),
                                  retention_days=1095)


def test_the_chain_is_keyed() -> None:
    event = {"request_id": uuid.uuid4(), "seq": 1, "at": datetime(2026, 12, 1, tzinfo=UTC),
             "actor": "a", "actor_role": "agent", "action": "created", "from_status": None,
             "to_status": "received", "data": {}}
    plain = hashlib.sha256(GENESIS.encode() + b"\n" + _canonical(event)).hexdigest()
    mine = audit.event_hash(GENESIS, event)
    other = audit.event_hash(GENESIS, event, keys.AuditKeys(b"another key" * 4))
    assert len({plain, mine, other}) == 3


async def test_each_transaction_checkpoints_each_chain_it_moved(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    first = (await create(client, agent, agent_body()))["id"]
    await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{first}/verify", json={"method": "bankid"}, headers=agent)
    async with app.state.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditLedger).order_by(AuditLedger.seq)))  # type: ignore[arg-type]
        request = await session.get(DsrRequest, uuid.UUID(first))
    assert [row.seq for row in rows] == [1, 2, 3]
    assert request is not None and (rows[-1].request_id, rows[-1].event_seq, rows[-1].head) \
        == (request.id, request.audit_seq, request.audit_head)
    assert (await _verify(app)).ok


async def test_a_rolled_back_savepoint_leaves_no_checkpoint(app) -> None:  # type: ignore[no-untyped-def]
    from app.services.requests import create_system_request

    async with app.state.sessionmaker() as session, session.begin():
        kept = await create_system_request(
            session, customer_number="C-1001", type_=audit_type(), details={}, reason="kept")
        try:
            async with session.begin_nested():
                await create_system_request(
                    session, customer_number="C-1002", type_=audit_type(), details={},
                    reason="rolled back")
                raise RuntimeError("undo")
        except RuntimeError:
            pass
    async with app.state.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditLedger)))
        assert [row.request_id for row in rows] == [kept.id]
        assert (await audit.verify_chain(session, kept)).ok
    assert (await _verify(app)).ok


def audit_type() -> Any:
    from app.models import RequestType

    return RequestType.erasure


async def test_the_ledger_costs_two_statements_per_transaction(app) -> None:  # type: ignore[no-untyped-def]
    """Not one per event: the counter and one insert, however many events and chains."""
    from app.services.requests import create_system_request

    async with app.state.sessionmaker() as session, session.begin():  # the counter row
        await create_system_request(session, customer_number="C-1001", type_=audit_type(),
                                    details={}, reason="x")
    statements: list[str] = []
    engine = app.state.engine

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with app.state.sessionmaker() as session, session.begin():
            for number in range(3):
                await create_system_request(
                    session, customer_number=f"C-100{number + 1}", type_=audit_type(),
                    details={}, reason="x")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    ledger = [s for s in statements if "audit_ledger" in s]
    assert len(ledger) == 2, ledger
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLedger)) == 4
    assert (await _verify(app)).ok


@pytest.mark.skipif(BACKEND != "sqlite", reason="a migration on a SQLite file")
async def test_the_migration_rekeys_intact_chains_and_keeps_broken_ones_broken(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from app.migrate import upgrade

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url, "0009")
    db = sqlite3.connect(path)
    ids = [uuid.uuid4(), uuid.uuid4()]
    for number, rid in enumerate(ids):
        prev = GENESIS
        for seq in (1, 2, 3):
            at = datetime(2026, 11, 1, 10, seq, tzinfo=UTC)
            fields = {"request_id": rid, "seq": seq, "at": at, "actor": "t",
                      "actor_role": "agent", "action": "created" if seq == 1 else "note_added",
                      "from_status": None, "to_status": None, "data": {"n": seq}}
            digest = hashlib.sha256(prev.encode() + b"\n" + _canonical(fields)).hexdigest()
            db.execute(
                "INSERT INTO audit_event (id, request_id, seq, at, actor, actor_role, action, "
                "from_status, to_status, data, prev_hash, hash) VALUES (?, ?, ?, ?, 't', "
                "'agent', ?, NULL, NULL, ?, ?, ?)",
                (uuid.uuid4().hex, rid.hex, seq, at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                 fields["action"], f'{{"n": {seq}}}', prev, digest))
            prev = digest
        db.execute(
            "INSERT INTO dsr_request (id, type, status, customer_number, channel, language, "
            "details, received_at, due_at, extended_months, created_by, created_by_role, "
            "created_at, updated_at, audit_seq, audit_head, answer_pending) VALUES (?, 'access', "
            "'received', 'C-1001', 'portal', 'sv', '{}', '2026-11-01', '2026-12-01', 0, 't', "
            "'portal', ?, '2026-11-01', 3, ?, 0)", (rid.hex, f"2026-11-01 0{number}:00:00.000000", prev))
    # the second was edited before the upgrade: it must not be blessed by re-keying
    db.execute("UPDATE audit_event SET actor = 'forger' WHERE request_id = ? AND seq = 2",
               (ids[1].hex,))
    db.commit()
    db.close()
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        verdict = await trail.verify_all(create_sessionmaker(engine), keys.current(),
                                         now=utcnow(), retention_days=1095)
        async with create_sessionmaker(engine)() as session:
            ledger = list(await session.scalars(select(AuditLedger).order_by(AuditLedger.seq)))  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    assert verdict.failures == [f"request {ids[1]}: the event was altered (event 1)"]
    assert [(row.seq, row.request_id, row.event_seq) for row in ledger] == [
        (1, ids[0], 3), (2, ids[1], 3)]


async def test_a_request_gone_after_its_retention_period_counts_as_purged(app) -> None:  # type: ignore[no-untyped-def]
    """The retention purge deletes finished requests after DSR_CASE_RETENTION_DAYS: one
    whose last checkpoint is that old is purged, one checkpointed since is missing."""
    from datetime import timedelta

    from app.audit import ledger

    now = utcnow()
    gone = [(uuid.uuid4(), now - timedelta(days=1095 - 30)), (uuid.uuid4(), now - timedelta(
        days=1095 - 32))]
    async with app.state.sessionmaker() as session, session.begin():
        for seq, (rid, at) in enumerate(gone, start=1):
            session.add(AuditLedger(
                seq=seq, request_id=rid, event_seq=4, head="a" * 64, at=at,
                mac=ledger.mac(keys.current().ledger, seq=seq, request_id=rid, event_seq=4,
                               head="a" * 64, at=at)))
    verdict = await trail.verify_all(app.state.sessionmaker, keys.current(), now=now,
                                     retention_days=1095, grace_days=31)
    assert verdict.purged == 1
    assert [line.split(":")[0] for line in verdict.failures] == [f"request {gone[1][0]}"]


async def test_concurrent_writers_number_the_ledger_without_gaps(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    made = await asyncio.gather(*[create(client, agent, agent_body()) for _ in range(12)])
    await asyncio.gather(*[client.post(f"/v1/requests/{r['id']}/cancel", json={"note": "x"},
                                       headers=agent) for r in made])
    async with app.state.sessionmaker() as session:
        numbers = list(await session.scalars(select(AuditLedger.seq).order_by(AuditLedger.seq)))  # type: ignore[arg-type]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 24
    verdict = await _verify(app)
    assert verdict.ok, verdict.failures
    assert verdict.requests == 12
