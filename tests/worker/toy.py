"""A toy job kind on the generic runner: a table of its own, no HTTP, no domain.

A job succeeds, or fails transiently ``fail_first[id]`` times first; its result is recorded
through the group-commit recorder provided the claim still holds its lease.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine, unit_of_work, utcnow
from app.errors import ConnectorError, TransientError
from app.worker import lease, retry
from app.worker.recorder import Recorder

META = sa.MetaData()
TOY = sa.Table(
    "toy_job", META,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("error", sa.String(200)),
)
POLICY = retry.Policy(base_s=0.01, cap_s=0.04, max_attempts=5, retry_after_cap_s=1.0,
                      max_throttle_s=60.0)


async def create_table(database_url: str) -> AsyncIterator[None]:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(META.create_all)
        yield
        async with engine.begin() as conn:
            await conn.run_sync(META.drop_all)
    finally:
        await engine.dispose()


async def add_jobs(sessionmaker: async_sessionmaker[AsyncSession], n: int,
                   *, signal: Any = None) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    async with unit_of_work(sessionmaker) as session:
        await session.execute(TOY.insert(), [
            {"id": i, "status": "pending", "attempts": 0, "ready_at": utcnow()} for i in ids])
        if signal is not None:
            signal(session)
    return ids


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID, Any]:
    async with sessionmaker() as session:
        return {row.id: row for row in await session.execute(sa.select(TOY))}


async def _lock(session: AsyncSession, keys: list[uuid.UUID], _groups: set[uuid.UUID]) -> None:
    await session.execute(sa.select(TOY.c.id).where(TOY.c.id.in_(keys)).with_for_update())


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    token: str
    attempt: int


class Toy:
    """The kind (:class:`app.worker.kinds.JobKind` of :class:`Claimed`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, lease_s: float = 30.0,
                 fail_first: dict[uuid.UUID, int] | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.owner = lease.owner_id()
        self.lease_s = lease_s
        self.fail_first = dict(fail_first or {})
        self.executed: Counter[uuid.UUID] = Counter()
        self.delays: list[float] = []
        self.recorder = Recorder(sessionmaker, lock=_lock)
        self.rng = random.Random(7)

    async def claim(self, limit: int, *, as_of: date | None = None) -> list[Claimed]:
        now = utcnow()
        async with unit_of_work(self.sessionmaker) as session:
            found = list(await session.execute(lease.skip_locked(
                sa.select(TOY.c.id, TOY.c.attempts)
                .where(TOY.c.status == "pending", TOY.c.ready_at <= now,
                       lease.free(TOY.c.lease_until, now))
                .order_by(TOY.c.ready_at).limit(limit))))
            claimed = [Claimed(row.id, lease.token(self.owner), row.attempts + 1) for row in found]
            for job in claimed:
                await session.execute(TOY.update().where(TOY.c.id == job.id).values(
                    attempts=job.attempt, lease_owner=job.token,
                    lease_until=now + timedelta(seconds=self.lease_s)))
        return claimed

    async def execute(self, job: Claimed) -> None:
        self.executed[job.id] += 1
        error: ConnectorError | None = None
        if self.fail_first.get(job.id, 0) >= job.attempt:
            error = TransientError("not now")

        async def work(session: AsyncSession) -> None:
            row = (await session.execute(sa.select(TOY).where(TOY.c.id == job.id))).one()
            if not lease.held(row.lease_owner, job.token):
                return  # someone else's now: the late result is dropped
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if error is None:
                values["status"] = "done"
            else:
                decision = retry.decide(error, transient=True, attempts=job.attempt,
                                        throttled_since=None, now=utcnow(), policy=POLICY,
                                        rng=self.rng)
                if decision.delay_s is None:
                    values.update(status="failed", error=error.reason)
                else:
                    self.delays.append(decision.delay_s)
                    values["ready_at"] = utcnow() + timedelta(seconds=decision.delay_s)
            await session.execute(TOY.update().where(TOY.c.id == job.id).values(**values))

        await self.recorder.write(job.id, work)
