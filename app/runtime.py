"""One runtime, built the same way for ``dsr serve`` and ``dsr worker``.

Everything a process needs to do work: the engine and sessionmaker, the commit hook that wakes
workers, the shared HTTP client, the connectors, the vault, this process's metrics and the
dispatcher. The API's lifespan and the worker process both enter :func:`build_runtime`, so the
two ways of starting work cannot drift apart (the worker once had private metrics nothing
served, and no wake-up hook).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.connectors.base import Connector
from app.connectors.registry import build_connectors, close_connectors
from app.db import create_engine, create_sessionmaker
from app.dispatch.wakeup import install_wakeup
from app.metrics import Metrics
from app.notifications.delivery import Notifier
from app.services.dispatch import Dispatcher
from app.services.foreground import Foreground
from app.services.ratelimit import SharedRateLimit
from app.services.recorder import Recorder
from app.services.vault import Vault
from app.settings import Settings

# A young collection every this many new objects (Python's default is 700). See tune_gc.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """The garbage collector of a long-running process (``dsr serve``, ``dsr worker``), set
    once everything loaded at start-up exists.

    Those objects (modules, mappers, schemas, the app, the sandbox's seed) live as long as the
    process: frozen, no collection looks at them again. And the young generation is collected
    every 10,000 new objects rather than 700: a request makes thousands (ORM objects, HTTP
    exchanges), nearly all freed by reference counting at once. In a burst of 200 requests
    (SQLite, three runs interleaved) the collector took 309-330 ms of CPU in about 370
    collections, two of them full, each pausing the event loop 86-98 ms, and the burst ran at
    38.5-38.8/s; tuned, 53-56 ms in 12 collections, pauses of at most 15 ms, 43.3-45.4/s. (A
    young threshold of 50,000 left a middle collection of 80 ms.)"""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    wake: asyncio.Event
    http: httpx.AsyncClient
    connectors: dict[str, Connector]
    vault: Vault
    metrics: Metrics
    dispatcher: Dispatcher
    recorder: Recorder
    _jobs: list[asyncio.Task[None]] = field(default_factory=list)

    def start_worker(self) -> None:
        """Run the dispatcher (and, on PostgreSQL, its NOTIFY listener) in the background."""
        self._jobs.append(asyncio.create_task(self.dispatcher.run()))
        self._jobs.append(asyncio.create_task(self.dispatcher.listen()))

    async def _stop(self) -> None:
        await self.dispatcher.stop()
        await self.recorder.close()  # outcomes already handed over are written before exit
        for job in self._jobs:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
        self._jobs.clear()


@contextlib.asynccontextmanager
async def build_runtime(
    settings: Settings, *, metrics: Metrics | None = None, vault: Vault | None = None,
    foreground: Foreground | None = None,
) -> AsyncIterator[Runtime]:
    """Build a process's runtime; on exit stop its worker and close what it opened."""
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size,
                           max_overflow=settings.db_max_overflow)
    sessionmaker = create_sessionmaker(engine, notify=settings.notifications_enabled)
    wake = asyncio.Event()
    client = httpx.AsyncClient(follow_redirects=False, trust_env=False)  # portal notices
    # each partner its own connection pool (connectors.registry)
    connectors = build_connectors(settings, limiter_factory=functools.partial(
        SharedRateLimit, sessionmaker))
    vault = vault or Vault(settings)
    metrics = metrics or Metrics()
    notifier = Notifier(settings, sessionmaker, client)
    # one group-commit writer of task outcomes per process: the worker's and the webhooks'
    writer = Recorder(sessionmaker)
    dispatcher = Dispatcher(settings, sessionmaker, connectors, wake=wake, metrics=metrics,
                            vault=vault, notifier=notifier, writer=writer,
                            foreground=foreground)
    install_wakeup(sessionmaker, wake, dispatcher.answer_due)
    runtime = Runtime(settings, engine, sessionmaker, wake, client, connectors, vault, metrics,
                      dispatcher, writer)
    try:
        yield runtime
    finally:
        await runtime._stop()
        await close_connectors(connectors)
        await client.aclose()
        await engine.dispose()


async def run_worker_process(
    settings: Settings, stop: asyncio.Event, *, metrics_port: int | None = None
) -> None:
    """``dsr worker``: the runtime's dispatcher until ``stop``; with ``metrics_port``, this
    process's Prometheus metrics on ``http://127.0.0.1:{metrics_port}/metrics``."""
    from prometheus_client import start_http_server

    async with build_runtime(settings) as runtime:
        server = None
        if metrics_port is not None:
            server, _thread = start_http_server(
                metrics_port, addr="127.0.0.1", registry=runtime.metrics.registry)
        try:
            runtime.start_worker()
            await stop.wait()
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
