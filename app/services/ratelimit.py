"""A partner's rate budget shared by every process: at most N calls in any S seconds, in all.

A limiter in each process lets each process make the partner's whole budget of calls, so three
processes earn 429s from the partner at three times its ceiling. The budget is kept where every API
and worker process already meets: the database. One ``rate_window`` row per partner holds the
times of the calls admitted in the current window; a call is admitted in a short transaction
that locks the row, drops the times that have left the window, and appends its own if fewer
than N remain. Otherwise it waits until the oldest is about to leave the window (see
below) and asks again.

- Times are the database's clock on PostgreSQL (processes on several hosts never disagree
  about a window); on SQLite, where every process is on one host, the host's clock.
- A process that dies mid-window leaves its admitted calls counted (they may have reached the
  partner) and nothing locked: a transaction of a dead connection is rolled back.
- Within a process the callers queue, and are admitted together as far as the window has room:
  one connection at a time asks the database, once for all of them.
- A place that frees within ``LEAD_S`` is booked ahead: the call is admitted for the moment the
  place frees, and its caller sleeps until then. Asking the database only once the place had
  freed put the asking (a transaction of several round trips, late on a busy machine) between
  every freed place and the call that took it, and the budget went that much unused each time:
  0.93-0.95 of the invoicing partner's ceiling on a slow hour of the benchmark.
- Beyond a short burst (a fifth of the budget, at least two calls: one request's calls go at
  once), a backlog's calls are spaced evenly, one every ``(S + margin) / N`` seconds: the same
  budget, used as a steady stream. Admitted by the window alone, a backlog went to the partner
  as the budget's N calls at once, then nothing until the window slid on: the partner took
  bursts, a waiting call waited out the silence, and calls counted over any span that was not
  a whole number of windows came out anywhere between 0.83 and 1.0 of the ceiling.
- If the database cannot be asked (it is down, or not migrated), calls fall back to this
  process's own sliding window with the same budget, so they are still paced, never stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.connectors.base import SlidingWindowLimiter
from app.db import unit_of_work
from app.models import RateWindow

log = logging.getLogger("app.ratelimit")

MARGIN_S = 0.1  # a call may reach the partner a little after it was admitted
LEAD_S = 0.25  # how far ahead a place that is about to free is booked
BURST_SHARE = 5  # a burst may take this fraction (1/5) of the budget, at least BURST_MIN calls
BURST_MIN = 2


class SharedRateLimit:
    """At most ``rate`` calls in any trailing ``per_s`` seconds, across every process."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], key: str, rate: int, per_s: float,
        *, margin_s: float = MARGIN_S, lead_s: float = LEAD_S,
    ) -> None:
        if rate < 1:
            raise ValueError("a rate limit admits at least one call per window")
        self.sessionmaker = sessionmaker
        self.key = key
        self.rate = rate
        self.window = per_s + margin_s
        self.lead = lead_s
        self.spacing = self.window / rate  # between calls of a backlog
        self.burst = min(rate, max(BURST_MIN, rate // BURST_SHARE))
        self.fallback = SlidingWindowLimiter(rate, per_s, margin_s=margin_s)
        self._waiting: list[asyncio.Future[tuple[float, float]]] = []
        self._admitter: asyncio.Task[None] | None = None
        self._falling_back = False

    async def acquire(self) -> float:
        """Wait for a place in the window; returns the time the call was admitted at (the
        database's clock on PostgreSQL, seconds since the epoch).

        The callers waiting in this process are admitted together, as many as the window has
        room for, in one transaction: a connector that makes two calls at once asks the
        database once, not twice in a row."""
        waiter: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._admitter is None or self._admitter.done():
            self._admitter = asyncio.create_task(self._admit())
        try:
            at, delay = await waiter
        finally:
            if waiter in self._waiting:  # cancelled while waiting: no place is taken
                self._waiting.remove(waiter)
        if delay > 0:  # booked ahead: the place frees then
            await asyncio.sleep(delay)
        return at

    async def _admit(self) -> None:
        while self._waiting:
            try:
                admitted, wait = await self._try_admit(len(self._waiting))
            except (SQLAlchemyError, OSError) as exc:
                if not self._falling_back:
                    log.warning("shared rate limit unavailable; pacing in this process",
                                extra={"limit": self.key, "error_type": type(exc).__name__})
                    self._falling_back = True
                await self.fallback.acquire()
                admitted, wait = [(time.time(), 0.0)], 0.0
            except BaseException as exc:  # a bug must not leave callers waiting forever
                for waiter in self._waiting:
                    if not waiter.done():
                        waiter.set_exception(exc)
                self._waiting.clear()
                raise
            else:
                if self._falling_back:
                    log.info("shared rate limit back", extra={"limit": self.key})
                    self._falling_back = False
            for admission in admitted:
                if self._waiting:
                    waiter = self._waiting.pop(0)
                    if not waiter.done():
                        waiter.set_result(admission)
            if self._waiting and wait > 0:
                await asyncio.sleep(wait)

    async def _try_admit(self, wanted: int) -> tuple[list[tuple[float, float]], float]:
        """(up to ``wanted`` admissions, each (time, seconds until then); seconds until the
        next place comes within the lead again).

        A call may go at ``t`` if the call ``rate`` places before it went ``window`` or more
        before ``t``: then no window holds more than ``rate`` calls. Beyond a burst, calls are
        also ``spacing`` apart (``_earliest``). Each admission takes the earliest moment both
        allow, not before now nor before the last call booked, and is booked if that moment
        is within ``lead`` of now."""
        async with unit_of_work(self.sessionmaker) as session:
            calls = await self._locked_calls(session)
            now = await _now(session)
            # only the last ``rate`` calls still in the window decide when the next may go
            times = sorted(t for t in calls if now - t < self.window)[-self.rate:]
            admitted: list[tuple[float, float]] = []
            wait = 0.0
            while len(admitted) < wanted:
                at = self._earliest(times, now)
                if at - now > self.lead:
                    wait = max(0.001, at - now - self.lead)
                    break
                times.append(at)
                admitted.append((at, at - now))
            if admitted:
                await session.execute(
                    RateWindow.__table__.update()  # type: ignore[attr-defined]
                    .where(RateWindow.__table__.c.key == self.key)  # type: ignore[attr-defined]
                    .values(calls=times[-self.rate:]))
            return admitted, wait

    def _earliest(self, times: list[float], now: float) -> float:
        """When the next call may go after ``times`` (sorted): not before now nor the last
        call; one ``window`` after the call ``rate`` places before it; and no earlier than an
        even stream allows, ``spacing`` apart, beyond a ``burst`` (the virtual scheduling of
        the generic cell rate algorithm: ``paced`` is when the calls so far would have
        ended had each taken ``spacing``)."""
        if not times:
            return now
        paced = times[0]
        for t in times:
            paced = max(paced, t) + self.spacing
        return max(now, times[-1], paced - (self.burst - 1) * self.spacing,
                   times[-self.rate] + self.window if len(times) >= self.rate else now)

    async def _locked_calls(self, session: AsyncSession) -> list[float]:
        query = select(RateWindow.calls).where(col(RateWindow.key) == self.key).with_for_update()
        calls = await session.scalar(query)
        if calls is None:  # the first call ever: create the row (once, whoever is first)
            dialect = session.get_bind().dialect.name
            insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)
            await session.execute(insert(RateWindow).values(key=self.key, calls=[])
                                  .on_conflict_do_nothing(index_elements=["key"]))
            calls = await session.scalar(query)
        return [float(t) for t in calls or []]


async def _now(session: AsyncSession) -> float:
    if session.get_bind().dialect.name == "postgresql":
        value = await session.scalar(text("SELECT extract(epoch FROM clock_timestamp())"))
        return float(value)
    return time.time()
