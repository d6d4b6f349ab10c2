"""The runner: claim what is due, run it in slots, record, sleep until woken.

One loop per worker over one slotted :class:`~app.worker.kinds.JobKind`, beside it the
periodic jobs (each round, or on their own clocks) and the deferred work, all paced by
:class:`~app.worker.pacing.Pacing`. Side work starts only when there is a reason: deferred
work when it came due (or on an idle round, for work another process left), a periodic job
when its clock says so. Every wake-up used to start all of them, each a transaction, on every
job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

from app import db_outage
from app.worker import wakeup
from app.worker.kinds import JobKind
from app.worker.pacing import Pacing
from app.worker.periodic import Periodic

log = logging.getLogger("app.worker")
IDLE_POLL_S = 2.0  # the longest a worker sleeps without a wake-up (retries, lease expiry)
J = TypeVar("J")


class Runner(Generic[J]):
    def __init__(
        self, kind: JobKind[J], pacing: Pacing, *, name: str, database_url: str,
        channel: str, periodic: Sequence[Periodic] = (),
    ) -> None:
        self.kind = kind
        self.pacing = pacing
        self.name = name
        self.database_url = database_url
        self.channel = channel  # of NOTIFY, on PostgreSQL (see app.worker.wakeup)
        self.periodic = list(periodic)
        self._stopping = asyncio.Event()
        self._deferred: asyncio.Task[None] | None = None
        self._side_jobs: dict[str, asyncio.Task[Any]] = {}

    @property
    def wake(self) -> asyncio.Event:
        return self.pacing.wake

    async def claim(self, limit: int, *, as_of: date | None = None) -> list[J]:
        return await self.kind.claim(limit, as_of=as_of)

    async def run_one(self, job: J) -> None:
        """Carry one claimed job out (never raises)."""
        await self.kind.execute(job)

    async def run_until_idle(self, *, as_of: date | None = None, max_rounds: int = 1000
                             ) -> list[J]:
        """Claim and run due jobs until none is due (``as_of``: scheduled work judged at that
        date); returns the jobs run, in claim order."""
        ran: list[J] = []
        for _ in range(max_rounds):
            batch = await self.claim(self.pacing.concurrency, as_of=as_of)
            if not batch:
                break
            await asyncio.gather(*(self.run_one(job) for job in batch))
            ran += batch
        return ran

    def start_deferred(self) -> None:
        # One at a time per worker; it runs beside the loop, never blocking it.
        deferred = self.pacing.deferred
        if deferred is not None and (self._deferred is None or self._deferred.done()):
            self._deferred = asyncio.create_task(deferred.run())

    def _start_side_job(self, name: str, job: Callable[[], Any]) -> None:
        """One of each side job at a time per worker, beside the loop."""
        running = self._side_jobs.get(name)
        if running is None or running.done():
            self._side_jobs[name] = asyncio.create_task(self._guarded(name, job))

    @staticmethod
    async def _guarded(name: str, job: Callable[[], Any]) -> None:
        try:
            await job()
        except Exception as exc:  # logged; the next round tries again
            db_outage.failed(log, "side job failed", exc, job=name)

    async def run(self) -> None:
        """Work until :meth:`stop`: claim what is due, run it, sleep until woken."""
        log.info("worker started", extra={"worker_id": self.name})
        loop = asyncio.get_running_loop()
        pacing = self.pacing
        next_at = {job.name: loop.time() for job in self.periodic}
        idle = True
        while not self._stopping.is_set():
            for job in self.periodic:  # in-line jobs first, as each round begins
                if job.inline and loop.time() >= next_at[job.name]:
                    await job.run()
                    next_at[job.name] = loop.time() + job.every_s()
            self.wake.clear()
            if pacing.deferred is not None and pacing.start_deferred(loop.time(), idle=idle):
                self.start_deferred()
            for job in self.periodic:
                if not job.inline and loop.time() >= next_at[job.name]:
                    self._start_side_job(job.name, job.run)
                    next_at[job.name] = loop.time() + job.every_s()
            slots = pacing.slots_now()
            free = slots - len(pacing.running)
            batch: list[J] = []
            if pacing.may_claim(free, slots, idle=idle):
                try:
                    batch = await self.claim(free)
                    db_outage.reached()
                except Exception as exc:  # database hiccup: log, back off, keep going
                    db_outage.failed(log, "claim failed", exc)
                    await asyncio.sleep(1.0)
                pacing.starved = len(batch) == free
            for claimed in batch:
                running = asyncio.create_task(self.run_one(claimed))
                pacing.running.add(running)
                running.add_done_callback(pacing.done)
            if batch and len(batch) == free:
                continue  # there may be more due right now
            try:
                await asyncio.wait_for(self.wake.wait(),
                                       timeout=pacing.timeout(loop.time(), IDLE_POLL_S))
                idle = False
            except TimeoutError:
                idle = True

    async def listen(self) -> None:
        """On PostgreSQL, wake on ``NOTIFY`` from any process (reconnecting)."""
        await wakeup.listen(self.database_url, self.channel, self.wake, self._stopping)

    async def stop(self, *, grace_s: float = 10.0) -> None:
        self._stopping.set()
        self.wake.set()
        pending = set(self.pacing.running) | (
            {self._deferred} if self._deferred else set()) | set(self._side_jobs.values())
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        for job in pending:
            job.cancel()
