"""The sandbox's whole world: every partner's records, and the machinery tests steer.

One :class:`SandboxState` lives on each sandbox app (``app.state.sandbox``). Tests reach in to
change knobs at run time (``state.faults = parse_faults(...)``, ``state.delay_ms = 0``,
``state.rng.seed(1)``), to wait for background work (:meth:`SandboxState.drain`) and to look
at the records the partners hold.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx

from app.sandbox.faults import Faults, parse_faults
from app.sandbox.models import (
    CrmCustomer,
    EniroListing,
    FortnoxCustomer,
    FortnoxInvoice,
    PartnerJob,
    SnpacNumber,
    StadsnatConnection,
)
from app.sandbox.seed import seed
from app.sandbox.synthetic import seed_synthetic
from app.settings import Settings

log = logging.getLogger("app.sandbox")


def parse_rate(value: str) -> tuple[int, float] | None:
    """``"25/5"`` as (25, 5.0); ``"0"`` (no limit) as None."""
    if value == "0":
        return None
    calls, _, seconds = value.partition("/")
    return int(calls), float(seconds)


class SandboxState:
    """In-memory records of every simulated partner, plus faults, delay, jobs and callbacks."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.faults: Faults = parse_faults(settings.sandbox_faults)
        self.delay_ms: int = settings.sandbox_delay_ms
        self.rng = rng or random.Random()  # noqa: S311 - fault rolls, not secrets
        self.clock = clock  # token expiry and the Fortnox rate window; tests may replace it
        self.timeout_fault_s = 30.0
        self.callback_attempts = 5
        self.callback_backoff_s = 1.0  # doubled after every failed delivery attempt

        self._client = client
        self._owns_client = False
        self._tasks: set[asyncio.Task[Any]] = set()

        self.crm: dict[str, CrmCustomer] = {}
        self.fortnox_customers: dict[str, FortnoxCustomer] = {}
        self.fortnox_invoices: list[FortnoxInvoice] = []
        self.stadsnat: dict[str, StadsnatConnection] = {}
        self.snpac: dict[str, SnpacNumber] = {}
        self.eniro: dict[str, EniroListing] = {}
        # (system, Idempotency-Key) -> (status, body) of the first answer.
        self.idempotency: dict[tuple[str, str], tuple[int, Any]] = {}
        self.fortnox_tokens: dict[str, float] = {}  # access token -> expiry on ``clock``
        self.fortnox_calls: dict[str, deque[float]] = {}  # token -> recent call times
        # Fortnox's limit per token as (calls, seconds); None: lifted.
        self.fortnox_rate: tuple[int, float] | None = parse_rate(settings.sandbox_fortnox_rate)
        # system -> calls received and 429s answered since start (GET /sandbox/{system}/_stats)
        self.stats: dict[str, dict[str, int]] = {}
        self.jobs: dict[tuple[str, str], PartnerJob] = {}  # (system, subject_request_id)
        self.reseed()

    def reseed(self, now: datetime | None = None) -> None:
        """Replace every partner's records with a fresh copy of the demo data (and the
        ``sandbox_customers`` synthetic customers)."""
        now = now or datetime.now(UTC)
        data = seed(now)
        seed_synthetic(data, now.replace(microsecond=0), self.settings.sandbox_customers)
        self.crm = data.crm
        self.fortnox_customers = data.fortnox_customers
        self.fortnox_invoices = data.fortnox_invoices
        self.stadsnat = data.stadsnat
        self.snpac = data.snpac
        self.eniro = data.eniro
        self.idempotency.clear()
        self.jobs.clear()

    def count(self, system: str, status: int) -> None:
        stats = self.stats.setdefault(system, {"calls": 0, "throttled": 0})
        stats["calls"] += 1
        stats["throttled"] += status == 429

    # -- the outgoing HTTP client (callbacks) ---------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        """The client callbacks go out on, created on first use.

        Lazily, because a sub-app mounted into the service never gets its own lifespan.
        """
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
            self._owns_client = True
        return self._client

    # -- background work -------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, tracked so it can be awaited or cancelled."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox background job failed", exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every job and callback delivery (including ones they start) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop background work and close the client if the sandbox created it."""
        await self.cancel_all()
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
            self._owns_client = False
