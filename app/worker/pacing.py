"""Pacing: how many jobs a worker runs at once, when it claims again, when put-off work runs.

- **Foreground first.** While the process serves ``BUSY`` or more calls at once (see
  :mod:`app.services.foreground`: with a backlog the worker's jobs took about 40% of the loop
  while clients were posting, 273-314/s with the worker on, 447-461/s with it off), the
  worker keeps at most a quarter of its slots busy, and is woken to fill them again once the
  foreground is quiet. A quarter of its slots always run.
- **Starvation.** A claim that took every free slot left due work behind ("starved"): then a
  new job is no reason to claim, a quarter of the slots coming free is (:func:`claim_again`:
  one claim per freed slot, or per job posted meanwhile, made claiming a tenth of a burst's
  work).
- **Deferral.** Costly side work (:class:`~app.worker.kinds.Deferred`) runs when no job is in
  flight, or each piece once it has waited ``defer_s`` (while starved, ``backlog_s`` at most):
  its figures are the deferred kind's.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from app.worker.kinds import Deferred


class Foreground(Protocol):
    def busy(self) -> bool: ...


def claim_again(slots: int) -> int:
    """Free slots (of ``slots`` usable now) that make a starved worker claim again: a quarter
    (one claim per freed slot, or per job posted meanwhile, made claiming a tenth of a
    burst's work)."""
    return max(1, slots // 4)


class Pacing:
    def __init__(
        self, concurrency: int, wake: asyncio.Event, *, foreground: Foreground | None = None,
        deferred: Deferred | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.wake = wake
        self.foreground = foreground
        self.deferred = deferred
        self.running: set[asyncio.Task[None]] = set()
        # The last claim took as many jobs as there were free slots: more may be due, so a
        # slot that frees up is a reason to claim again (otherwise new work wakes the worker).
        self.starved = False
        self.put_off_due = asyncio.Event()  # deferred work came due (see came_due)
        self.put_off_since: float | None = None  # when deferred work was first seen waiting

    @property
    def quarter(self) -> int:
        """A quarter of the worker's slots: all it may use while the foreground is busy."""
        return claim_again(self.concurrency)

    def slots_now(self) -> int:
        """The jobs this worker may have in flight now: a quarter of its slots while the
        process's foreground is busy, else all of them."""
        if self.foreground is not None and self.foreground.busy():
            return self.quarter
        return self.concurrency

    def busy(self) -> bool:
        """Jobs in flight, or a backlog: with more due than it could take, a moment with
        nothing in flight is a lull between claims, not a quiet spell for deferred work
        (on PostgreSQL, where a claim takes longer, each lull of a burst ran one)."""
        return bool(self.running) or self.starved

    def wait_s(self) -> float:
        """How long deferred work waits while jobs are in flight: ``defer_s``; while the
        worker has a backlog, until it clears (``backlog_s`` at most)."""
        assert self.deferred is not None
        return self.deferred.backlog_s() if self.starved else self.deferred.defer_s()

    def may_claim(self, free: int, slots: int, *, idle: bool) -> bool:
        """Starved (more due than it could take) with less than a quarter of its slots free,
        new work is no reason to claim: :meth:`done` wakes it when a quarter is. With none
        free (the foreground is busy), it waits the same way."""
        if free <= 0:
            self.starved = True
            return False
        return idle or not self.starved or free >= claim_again(slots)

    def put_off(self, age_s: float) -> None:
        """Deferred work put off, first due ``age_s`` ago: the worker runs it ``defer_s``
        after that, if jobs are still in flight then."""
        assert self.deferred is not None
        loop = asyncio.get_running_loop()
        since = loop.time() - max(0.0, age_s)
        if self.put_off_since is None or since < self.put_off_since:
            self.put_off_since = since
            loop.call_later(max(0.0, since + self.deferred.defer_s() - loop.time()),
                            self.wake.set)

    def came_due(self) -> None:
        """Deferred work came due: run it now if no job is in flight, else when the last one
        ends or ``defer_s`` from now, whichever comes first (with a backlog, once it clears).
        Not a reason to claim: waking the worker (and so a claim) on every such event kept a
        burst's claims small."""
        self.put_off_due.set()
        if not self.busy():
            self.wake.set()
        else:
            self.put_off(0.0)

    def start_deferred(self, now: float, *, idle: bool) -> bool:
        """Whether deferred work is to start now (and forget that it waited)."""
        if self.put_off_due.is_set():
            self.put_off_due.clear()
            if self.put_off_since is None:
                self.put_off_since = now
        if idle or (self.put_off_since is not None and (
                not self.busy() or now - self.put_off_since >= self.wait_s())):
            self.put_off_since = None
            return True
        return False

    def timeout(self, now: float, idle_s: float) -> float:
        """How long to sleep without a wake-up: deferred work put off is run when due."""
        if self.put_off_since is not None and self.deferred is not None:
            return min(idle_s, max(0.0, self.put_off_since + self.wait_s() - now))
        return idle_s

    def foreground_quiet(self) -> None:
        """The foreground is no longer busy: a worker that had more due than it took claims
        again."""
        if self.starved:
            self.wake.set()

    def done(self, job: asyncio.Task[None]) -> None:
        self.running.discard(job)
        if not self.running and (self.put_off_since is not None or self.put_off_due.is_set()):
            self.wake.set()  # nothing in flight: the deferred work waiting can run now
        # The last claim left due work behind: claim again once a quarter of the slots are
        # free (one claim per freed slot made claiming a tenth of a burst's work).
        slots = self.slots_now()
        if self.starved and slots - len(self.running) >= claim_again(slots):
            self.wake.set()
