"""The partner rate budget shared by every process (``services.ratelimit``).

What is checked is the admission record, never how long anything took: the times the limiter
admitted calls at (the database's clock) never hold more than the budget in any window.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine, create_sessionmaker
from app.models import RateWindow
from app.services.ratelimit import SharedRateLimit
from tests.conftest import BACKEND, ROOT

RATE, PER_S = 4, 0.5

# One "process" of the service: acquire N places, print each admission time; with "die", then
# take the row lock as the next admission would and be killed holding it, mid-window.
# Arguments: database URL, key, N, die|live, rate, period.
CHILD = """
import asyncio, json, os, signal, sys
from sqlmodel import select
from app.db import create_engine, create_sessionmaker
from app.models import RateWindow
from app.services.ratelimit import SharedRateLimit

async def main(url, key, count, die):
    engine = create_engine(url)
    limiter = SharedRateLimit(create_sessionmaker(engine), key, int(sys.argv[5]), float(sys.argv[6]))
    for _ in range(count):
        print(json.dumps(await limiter.acquire()), flush=True)
    if die:
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(select(RateWindow).where(RateWindow.key == key)
                                  .with_for_update())
            print("locked", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "die"))
"""


def assert_within_budget(times: list[float]) -> None:
    """No window of ``PER_S`` seconds holds more than ``RATE`` admissions."""
    ordered = sorted(times)
    for i, start in enumerate(ordered):
        inside = [t for t in ordered[i:] if t - start < PER_S]
        assert len(inside) <= RATE, f"{len(inside)} admissions within {PER_S} s from {start}"


def child(database_url: str, key: str, count: int, *, die: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url, key, str(count), "die" if die else "live",
         str(RATE), str(PER_S)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def admissions(limiter: SharedRateLimit, count: int) -> list[float]:
    return list(await asyncio.gather(*(limiter.acquire() for _ in range(count))))


async def test_one_process_is_held_to_the_budget_through_the_database(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The same code path on either backend (on SQLite: one process)."""
    limiter = SharedRateLimit(sessionmaker, "test-one", RATE, PER_S)
    times = await admissions(limiter, 3 * RATE)
    assert len(times) == 3 * RATE
    assert_within_budget(times)
    assert not limiter._falling_back
    async with sessionmaker() as session:
        row = await session.get(RateWindow, "test-one")
    assert row is not None and 0 < len(row.calls) <= RATE


async def test_a_place_about_to_free_is_booked_for_the_moment_it_frees(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The call after a full window goes exactly when the first call leaves it, not when
    the database could next be asked: no part of the budget goes unused in between."""
    from app.services.ratelimit import MARGIN_S

    limiter = SharedRateLimit(sessionmaker, "test-ahead", RATE, PER_S)
    times = sorted(await admissions(limiter, 2 * RATE))
    assert_within_budget(times)
    window = PER_S + MARGIN_S
    assert all(abs(times[i + RATE] - (times[i] + window)) < 1e-6 for i in range(RATE))


async def test_a_backlog_goes_as_an_even_stream_after_a_short_burst(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """One request's calls go at once; a backlog's then go about one every window/rate
    seconds, never more than the burst together, and still the whole budget in every window
    (by the window alone they went ``rate`` at a time, then nothing)."""
    rate = 10
    limiter = SharedRateLimit(sessionmaker, "test-even", rate, PER_S)
    assert limiter.burst == 2 and limiter.spacing * rate == pytest.approx(limiter.window)
    times = sorted(await admissions(limiter, 3 * rate))
    assert times[1] - times[0] < 1e-6  # the burst: together
    clumps = [times[i + limiter.burst] - times[i] for i in range(len(times) - limiter.burst)]
    assert min(clumps) > limiter.spacing - 1e-6, clumps
    used = [times[i + rate] - times[i] for i in range(len(times) - rate)]
    assert all(abs(span - limiter.window) < 1e-6 for span in used), used


async def test_two_limiters_of_one_key_share_one_budget(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = SharedRateLimit(sessionmaker, "test-two", RATE, PER_S)
    second = SharedRateLimit(sessionmaker, "test-two", RATE, PER_S)
    times = await asyncio.gather(admissions(first, 2 * RATE), admissions(second, 2 * RATE))
    assert_within_budget(times[0] + times[1])


async def test_without_its_table_it_paces_calls_in_this_process(tmp_path: Path) -> None:
    """A database that cannot be asked (here: never migrated) does not stop partner calls."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        limiter = SharedRateLimit(create_sessionmaker(engine), "test-fallback", 2, 0.3)
        times = await admissions(limiter, 5)
        assert len(times) == 5
        assert limiter._falling_back
        assert len(limiter.fallback._calls) <= 2  # the local window keeps the same budget
    finally:
        await engine.dispose()


postgresql_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="several processes share a budget on PostgreSQL")


def _times(process: subprocess.Popen[str]) -> list[float]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


@postgresql_only
def test_processes_never_exceed_the_budget_together(database_url: str) -> None:
    processes = [child(database_url, "test-procs", 2 * RATE + 1) for _ in range(3)]
    times = [t for process in processes for t in _times(process)]
    assert len(times) == 3 * (2 * RATE + 1)
    assert_within_budget(times)


@postgresql_only
async def test_a_process_dying_mid_window_leaves_its_calls_counted_and_nothing_locked(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    dying = child(database_url, "test-dies", RATE - 1, die=True)
    out, err = await asyncio.to_thread(dying.communicate, timeout=120)
    lines = out.splitlines()
    assert lines[-1] == "locked" and dying.returncode == -9, err
    theirs = [json.loads(line) for line in lines[:-1]]

    survivor = SharedRateLimit(sessionmaker, "test-dies", RATE, PER_S)
    ours = await asyncio.wait_for(admissions(survivor, 2 * RATE), timeout=60)
    assert len(ours) == 2 * RATE  # the dead process's row lock did not outlive it
    assert_within_budget(theirs + ours)  # its admitted calls still counted in their window
