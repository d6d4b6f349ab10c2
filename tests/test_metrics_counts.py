"""The /metrics counts are maintained by the writes that change them (migration 0013, the
triggers; app.metrics_counts, the compaction): after every kind of write they equal a
recount from the tables, before and after compaction, and compaction running beside writers
loses nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.connectors import base
from app.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from app.errors import TransientError
from app.metrics import Key, maintained, recount
from app.metrics_counts import compact
from app.migrate import alembic_config, upgrade
from app.models import (
    Channel,
    DsrRequest,
    Language,
    Notification,
    NotificationStatus,
    RequestStatus,
    RequestType,
    Task,
    TaskStatus,
)
from app.models.counts import COUNTED, MetricCountDelta
from app.retention.housekeeping import purge_housekeeping
from app.services.dispatch import Dispatcher
from tests.conftest import BACKEND, make_settings
from tests.e2e.service import fresh_database
from tests.helpers import agent_body, create
from tests.services.fakes import fakes

Sessions = async_sessionmaker[AsyncSession]


async def true_counts(sessionmaker: Sessions) -> dict[Key, int]:
    """The maintained counts, having checked them against a recount."""
    async with sessionmaker() as session:
        kept, counted = await maintained(session), await recount(session)
    assert kept == counted
    return kept


async def changes(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(
            select(func.count()).select_from(MetricCountDelta)) or 0)


def new_request(status: RequestStatus = RequestStatus.in_progress, **values: Any) -> DsrRequest:
    now = utcnow()
    return DsrRequest(id=uuid.uuid4(), type=values.pop("type", RequestType.access),
                      status=status, customer_number="C-1001", channel=Channel.phone,
                      language=Language.sv, received_at=now, due_at=now + timedelta(days=30),
                      created_by="test", created_by_role="agent", **values)


async def test_the_counts_stay_true_through_every_kind_of_write(client, agent, portal, app) -> None:  # type: ignore[no-untyped-def]
    sessionmaker: Sessions = app.state.sessionmaker
    assert await true_counts(sessionmaker) == {}
    # intake (the tasks are written in one bulk insert)
    created = [await create(client, portal, {"type": "access"}) for _ in range(3)]
    old = await create(client, agent, agent_body("erasure"))
    counts = await true_counts(sessionmaker)
    assert counts[("requests", "access", "in_progress")] == 3
    assert counts[("tasks", "crm", "pending")] >= 3

    # the dispatcher: claims, retries (attempts), outcomes, requests completed
    outcomes = iter([TransientError("crm answered 503"), TransientError("crm timed out")])

    def flaky(call: base.Call) -> base.Outcome:
        item = next(outcomes, None)
        if item is not None:
            raise item
        return base.done("ok", {"things": [1]})

    settings = make_settings(app.state.settings.database_url, retry_base_s=0.01,
                             retry_max_s=0.02, task_max_attempts=5)
    dispatcher = Dispatcher(settings, sessionmaker, fakes(crm=flaky))
    for _ in range(20):
        await dispatcher.run_until_idle()
        await asyncio.sleep(0.03)
    counts = await true_counts(sessionmaker)
    assert counts[("retries", "crm", "")] == 2
    assert counts[("requests", "access", "completed")] == 3

    # compaction folds every change; the counts stay what they were
    assert (await compact(sessionmaker, batch=7))["folded"] > 7
    assert await changes(sessionmaker) == 0
    assert await true_counts(sessionmaker) == counts

    async with unit_of_work(sessionmaker) as session:
        # SQL by hand: one statement changes many rows' status and attempts
        await session.execute(update(Task).where(Task.system == "crm")
                              .values(status=TaskStatus.manual, attempts=4))
        # a Core bulk insert of tasks beside a new request
        request = new_request(RequestStatus.awaiting_verification, type=RequestType.erasure)
        session.add(request)
        await session.flush()
        await session.execute(insert(Task), [Task.row(request, system, "erase")
                                             for system in ("crm", "fortnox", "eniro")])
        notes = [Notification(request_id=request.id, event="request.received")
                 for _ in range(3)]
        session.add_all(notes)
    async with unit_of_work(sessionmaker) as session:
        for note, status in zip(notes, (NotificationStatus.delivered, NotificationStatus.failed),
                                strict=False):
            row = await session.get(Notification, note.id)
            assert row is not None
            row.status = status
        task = (await session.scalars(select(Task).where(Task.request_id == request.id,
                                                          Task.system == "fortnox"))).one()
        task.system = "installer"  # a key's labels change too
        await session.execute(delete(Task).where(Task.request_id == request.id,
                                                 Task.system == "eniro"))
    counts = await true_counts(sessionmaker)
    assert counts[("notifications", "pending", "")] == 1
    assert counts[("tasks", "installer", "pending")] >= 1
    assert counts[("retries", "crm", "")] >= 3 * len(created)

    # retention deletes a whole case, its tasks and notifications by cascade
    async with unit_of_work(sessionmaker) as session:
        await session.execute(update(DsrRequest).where(DsrRequest.id == uuid.UUID(old["id"]))
                              .values(status=RequestStatus.cancelled,
                                      finished_at=utcnow() - timedelta(days=4000)))
        purged = await purge_housekeeping(session, settings=settings, now=utcnow())
    assert purged["cases"] == 1
    assert ("requests", "erasure", "cancelled") not in await true_counts(sessionmaker)
    await compact(sessionmaker)
    assert await changes(sessionmaker) == 0
    counts = await true_counts(sessionmaker)

    # the scrape reports them
    lines = (await client.get("/metrics")).text.splitlines()
    tasks = {line for line in lines if line.startswith("dsr_tasks{")}
    assert tasks == {f'dsr_tasks{{status="{status}",system="{system}"}} {value}.0'
                     for (metric, system, status), value in counts.items() if metric == "tasks"}
    assert f'dsr_task_retry_attempts{{system="crm"}} {counts[("retries", "crm", "")]}.0' in lines
    assert 'dsr_notifications{status="failed"} 1.0' in lines


async def test_compaction_beside_writers_loses_nothing(app) -> None:  # type: ignore[no-untyped-def]
    """Writers hold their transactions open across the compactions (two at once), whose
    batches are small, so changes committed out of order of their ids are folded later."""
    sessionmaker: Sessions = app.state.sessionmaker
    done = asyncio.Event()
    folded: list[int] = []

    async def writer(n: int) -> None:
        for i in range(25):
            async with unit_of_work(sessionmaker) as session:
                request = new_request()
                session.add(request)
                await session.flush()
                tasks = [Task.of(request, system, "export") for system in ("crm", "fortnox")]
                session.add_all(tasks)
                await session.flush()
                await asyncio.sleep(0.001 * n)
                tasks[0].status, tasks[0].attempts = TaskStatus.running, 1 + i % 3
                await session.flush()
                await asyncio.sleep(0)
                tasks[1].status = TaskStatus.done
            if i % 4 == n % 4:
                async with unit_of_work(sessionmaker) as session:
                    await session.execute(delete(DsrRequest).where(DsrRequest.id == request.id))

    async def compactor() -> None:
        while not done.is_set():
            folded.append((await compact(sessionmaker, batch=5))["folded"])
            await asyncio.sleep(0.002)

    compactors = [asyncio.create_task(compactor()) for _ in range(2)]
    await asyncio.gather(*(writer(n) for n in range(4)))
    done.set()
    await asyncio.gather(*compactors)
    assert sum(folded) > 0  # they ran while the writers wrote
    await true_counts(sessionmaker)
    await compact(sessionmaker)
    assert await changes(sessionmaker) == 0
    counts = await true_counts(sessionmaker)
    assert sum(v for (metric, *_), v in counts.items() if metric == "requests") == 100 - 25


async def test_every_counted_table_has_its_triggers(app) -> None:  # type: ignore[no-untyped-def]
    """On SQLite a migration that rebuilds one of these tables (batch mode) drops its
    triggers: it must create them again."""
    async with app.state.engine.connect() as conn:
        if BACKEND == "postgresql":
            rows = await conn.execute(text(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"))
            suffixes = ("", "_update", "_truncate")
        else:
            rows = await conn.execute(text(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
            suffixes = ("_insert", "_update", "_delete")
        found = {tuple(row) for row in rows}
    assert found >= {(table, f"metric_count_{table}{suffix}")
                     for table in COUNTED for suffix in suffixes}


@pytest.mark.skipif(BACKEND != "postgresql", reason="TRUNCATE is PostgreSQL's")
async def test_a_truncated_table_takes_its_counts_away(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    sessionmaker: Sessions = app.state.sessionmaker
    await create(client, portal, {"type": "access"})
    await compact(sessionmaker)
    async with unit_of_work(sessionmaker) as session:
        session.add(Notification(request_id=(await session.scalars(select(DsrRequest.id)))
                                 .one(), event="request.received"))
    async with unit_of_work(sessionmaker) as session:
        await session.execute(text("TRUNCATE task, notification CASCADE"))
    counts = await true_counts(sessionmaker)
    assert [metric for metric, *_ in counts] == ["requests"]


async def _seed(url: str, *, requests: int) -> None:
    engine = create_engine(url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            for n in range(requests):
                request = new_request(RequestStatus.completed if n % 3 else
                                      RequestStatus.in_progress)
                session.add(request)
                await session.flush()
                session.add_all([Task.of(request, "crm", "export", status=TaskStatus.done,
                                         attempts=1 + n % 4),
                                 Task.of(request, "fortnox", "export")])
                session.add(Notification(request_id=request.id, event="request.received",
                                         status=NotificationStatus.delivered))
    finally:
        await engine.dispose()


async def _check(url: str) -> dict[Key, int]:
    engine = create_engine(url)
    try:
        return await true_counts(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def test_the_migration_starts_the_counts_from_the_tables(tmp_path: Path) -> None:
    """0013 counts what is there; taken back and made again, the counts are true again."""
    from alembic import command

    with fresh_database(BACKEND, tmp_path) as url:
        upgrade(url, "0012")
        asyncio.run(_seed(url, requests=9))
        upgrade(url)
        counts = asyncio.run(_check(url))
        assert counts[("requests", "access", "completed")] == 6
        assert counts[("retries", "crm", "")] == 0 + 1 + 2 + 3 + 0 + 1 + 2 + 3 + 0
        command.downgrade(alembic_config(url), "0012")
        asyncio.run(_seed(url, requests=3))  # written while nothing counts
        upgrade(url)
        assert asyncio.run(_check(url))[("tasks", "fortnox", "pending")] == 12
