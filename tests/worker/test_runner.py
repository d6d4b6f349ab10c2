"""The generic runner with a toy job kind, on SQLite and PostgreSQL, without HTTP: leases,
retries, SKIP LOCKED, periodic jobs and wake-ups."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from app.errors import MaybeDelivered, PermanentError, Throttled, TransientError
from app.models import ScheduledJob
from app.worker import periodic, retry, runner, wakeup
from app.worker.pacing import Pacing
from app.worker.runner import Runner
from tests.conftest import BACKEND
from tests.worker.toy import TOY, Toy, add_jobs, create_table, rows


@pytest.fixture
async def toy_table(database_url: str) -> AsyncIterator[None]:
    async for _ in create_table(database_url):
        yield


@pytest.fixture
async def sessionmakers(
    database_url: str, toy_table: None,
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Two processes' sessionmakers, each on its own engine."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        yield [create_sessionmaker(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


def runner_of(kind: Toy, database_url: str, concurrency: int = 4) -> Runner[Any]:
    return Runner(kind, Pacing(concurrency, asyncio.Event()), name=kind.owner,
                  database_url=database_url, channel="toy_jobs")


async def test_every_due_job_runs_once_and_is_recorded(
    sessionmakers: list[async_sessionmaker[AsyncSession]], database_url: str,
) -> None:
    sessionmaker = sessionmakers[0]
    ids = await add_jobs(sessionmaker, 10)
    kind = Toy(sessionmaker)
    ran = await runner_of(kind, database_url).run_until_idle()
    assert sorted(job.id for job in ran) == sorted(ids)
    assert set(kind.executed.values()) == {1}
    assert {row.status for row in (await rows(sessionmaker)).values()} == {"done"}


async def test_an_expired_lease_is_retaken_and_the_late_result_dropped(
    sessionmakers: list[async_sessionmaker[AsyncSession]],
) -> None:
    first, second = Toy(sessionmakers[0], lease_s=0.2), Toy(sessionmakers[1])
    [job_id] = await add_jobs(sessionmakers[0], 1)
    [held] = await first.claim(4)  # ... and its worker stops before it runs the job
    assert await second.claim(4) == [], "a live lease is not taken"
    await asyncio.sleep(0.3)
    [retaken] = await second.claim(4)
    assert retaken.id == job_id and retaken.attempt == 2 and retaken.token != held.token
    await first.execute(held)  # the late answer of the first claim changes nothing
    assert (await rows(sessionmakers[0]))[job_id].status == "pending"
    await second.execute(retaken)
    assert (await rows(sessionmakers[0]))[job_id].status == "done"


async def test_a_transient_failure_is_retried_with_backoff(
    sessionmakers: list[async_sessionmaker[AsyncSession]], database_url: str,
) -> None:
    sessionmaker = sessionmakers[0]
    [flaky, fails] = await add_jobs(sessionmaker, 2)
    kind = Toy(sessionmaker, fail_first={flaky: 2, fails: 99})
    run = runner_of(kind, database_url)
    for _ in range(100):
        await run.run_until_idle()
        found = await rows(sessionmaker)
        if found[flaky].status == "done" and found[fails].status == "failed":
            break
        await asyncio.sleep(0.02)
    assert (found[flaky].attempts, found[fails].attempts) == (3, 5)
    assert kind.executed[flaky] == 3 and kind.executed[fails] == 5
    assert all(0.005 <= delay <= 0.04 for delay in kind.delays)


def test_the_retry_policy_decides_by_the_class_of_the_error() -> None:
    policy = retry.Policy(base_s=1.0, cap_s=30.0, max_attempts=3, retry_after_cap_s=10.0,
                          max_throttle_s=60.0)
    rng = random.Random(1)
    now = utcnow()
    plain = retry.decide(TransientError("x"), transient=True, attempts=1, throttled_since=None,
                         now=now, policy=policy, rng=rng)
    assert plain.attempts == 1 and plain.delay_s is not None and 0.5 <= plain.delay_s <= 1.0
    throttled = retry.decide(Throttled("429"), transient=True, attempts=3,
                             throttled_since=now, now=now, policy=policy, rng=rng)
    assert throttled.attempts == 2 and throttled.delay_s is not None, "pacing is no attempt"
    asked = retry.decide(Throttled("429", retry_after=120.0), transient=True, attempts=1,
                         throttled_since=None, now=now, policy=policy, rng=rng)
    assert asked.delay_s == 10.0, "retry-after wins over the backoff, up to its cap"
    out = retry.decide(Throttled("429"), transient=True, attempts=1,
                       throttled_since=now - timedelta(seconds=61), now=now, policy=policy,
                       rng=rng)
    assert out.throttled_out and out.delay_s is None
    assert retry.decide(TransientError("x"), transient=True, attempts=3, throttled_since=None,
                        now=now, policy=policy, rng=rng).delay_s is None
    assert retry.decide(PermanentError("no"), transient=False, attempts=1,
                        throttled_since=None, now=now, policy=policy, rng=rng).delay_s is None
    assert retry.maybe_delivered(MaybeDelivered("timeout"))
    assert not retry.maybe_delivered(TransientError("refused"))


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks with SKIP LOCKED are PostgreSQL's")
async def test_two_runners_never_run_the_same_job(
    sessionmakers: list[async_sessionmaker[AsyncSession]], database_url: str,
) -> None:
    ids = await add_jobs(sessionmakers[0], 40)
    kinds = [Toy(sessionmaker) for sessionmaker in sessionmakers]
    claims = await asyncio.gather(*(kind.claim(30) for kind in kinds))
    claimed = [job.id for batch in claims for job in batch]
    assert len(claimed) == len(set(claimed)) == 40 and all(claims), "disjoint shares"
    await asyncio.gather(*(kind.execute(job) for kind, batch in zip(kinds, claims, strict=True)
                           for job in batch))
    await asyncio.gather(*(runner_of(kind, database_url).run_until_idle() for kind in kinds))
    executed = kinds[0].executed + kinds[1].executed
    assert sorted(executed) == sorted(ids) and set(executed.values()) == {1}


async def test_a_periodic_job_runs_once_per_period_across_two_runners(
    sessionmakers: list[async_sessionmaker[AsyncSession]],
) -> None:
    runs: list[str] = []

    def job_of(owner: str) -> periodic.Job:
        async def job() -> dict[str, Any]:
            runs.append(owner)
            await asyncio.sleep(0.05)  # the other runner asks meanwhile
            return {"ran": owner}
        return job

    async def both() -> None:
        await asyncio.gather(*(periodic.run_if_due(
            sessionmaker, "toy_periodic", interval_s=0.5, job=job_of(f"w{n}"), owner=f"w{n}")
            for n, sessionmaker in enumerate(sessionmakers)))

    try:
        await both()
        assert len(runs) == 1, "one runner of two ran it"
        await both()
        assert len(runs) == 1, "not due again within its period"
        await asyncio.sleep(0.6)
        await both()
        assert len(runs) == 2, "due again once the period is over"
        async with sessionmakers[0]() as session:
            row = await session.get(ScheduledJob, "toy_periodic")
            assert row is not None and row.lease_owner is None and row.last_result is not None
    finally:
        async with unit_of_work(sessionmakers[0]) as session:
            await session.execute(sa.delete(ScheduledJob).where(
                ScheduledJob.name == "toy_periodic"))  # type: ignore[arg-type]


async def test_a_commit_that_signals_work_wakes_the_runner(
    sessionmakers: list[async_sessionmaker[AsyncSession]], database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "IDLE_POLL_S", 3600.0)  # only a wake-up can get it going
    sessionmaker = sessionmakers[0]
    kind = Toy(sessionmaker)
    run = runner_of(kind, database_url)
    wakeup.install(sessionmaker, run.wake, channel="toy_jobs", pending=lambda session: False)
    with pytest.raises(RuntimeError):  # a rolled-back signal wakes nobody
        async with unit_of_work(sessionmaker) as session:
            await session.execute(sa.select(TOY.c.id))
            wakeup.signal_work(session)
            raise RuntimeError("rolled back")
    assert not run.wake.is_set()
    loop = asyncio.create_task(run.run())
    try:
        await asyncio.sleep(0.2)  # its first (idle) round found nothing; asleep now
        [job_id] = await add_jobs(sessionmaker, 1, signal=wakeup.signal_work)
        for _ in range(100):
            if (await rows(sessionmaker))[job_id].status == "done":
                break
            await asyncio.sleep(0.02)
        assert (await rows(sessionmaker))[job_id].status == "done"
    finally:
        await run.stop()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
