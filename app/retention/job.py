"""Retention as periodic jobs on the worker, each run by one worker of all (leased in
``scheduled_job``): housekeeping every ``DSR_HOUSEKEEPING_INTERVAL_S`` and the daily sweep."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.connectors.base import Connector
from app.connectors.capabilities import ContractSource
from app.db import utcnow
from app.metrics_counts import COMPACT_EVERY_S, COMPACTION_JOB, compact
from app.partners import REGISTER, with_role
from app.retention.housekeeping import housekeeping
from app.retention.sweep import sweep
from app.settings import Settings
from app.worker.periodic import Periodic, run_if_due

SWEEP_JOB = "retention_sweep"
HOUSEKEEPING_JOB = "housekeeping"
SWEEP_CHECK_S = 60.0  # how often a worker asks whether the retention sweep is due


def register_of(connectors: dict[str, Connector]) -> ContractSource | None:
    """The own register's connector, which the sweep asks for ended contracts (None: there
    is none that can say)."""
    entry = with_role(REGISTER)
    connector = connectors.get(entry.name) if entry is not None else None
    return connector if isinstance(connector, ContractSource) else None


class Worker(Protocol):
    """What the jobs read of their worker, when they run (its settings may change)."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    connectors: dict[str, Connector]
    worker_id: str


def jobs(worker: Worker) -> list[Periodic]:
    """Housekeeping asked about as each round begins, every ``DSR_HOUSEKEEPING_INTERVAL_S``;
    the sweep asked about every minute (or its interval, if shorter); each run when due."""

    async def clean() -> None:
        async def job() -> dict[str, Any]:
            return dict(await housekeeping(worker.sessionmaker, worker.settings))

        await run_if_due(worker.sessionmaker, HOUSEKEEPING_JOB, job=job, owner=worker.worker_id,
                         interval_s=worker.settings.housekeeping_interval_s)

    async def retention_sweep() -> None:
        """The daily post-contract sweep, run by whichever worker finds it due."""
        settings, register = worker.settings, register_of(worker.connectors)
        if register is None or not settings.retention_sweep:
            return

        async def job() -> dict[str, Any]:
            items = await sweep(worker.sessionmaker, register, settings, as_of=utcnow().date())
            return {"created": sum(item.created for item in items)}

        await run_if_due(worker.sessionmaker, SWEEP_JOB, job=job, owner=worker.worker_id,
                         interval_s=settings.retention_sweep_interval_s)

    async def compact_counts() -> None:
        """The /metrics counts' changes folded in (app.metrics_counts), by one worker of all."""
        async def job() -> dict[str, Any]:
            return dict(await compact(worker.sessionmaker))

        await run_if_due(worker.sessionmaker, COMPACTION_JOB, job=job, owner=worker.worker_id,
                         interval_s=COMPACT_EVERY_S)

    return [
        Periodic(HOUSEKEEPING_JOB, lambda: worker.settings.housekeeping_interval_s, clean,
                 inline=True),
        Periodic(SWEEP_JOB, lambda: min(SWEEP_CHECK_S, worker.settings.retention_sweep_interval_s),
                 retention_sweep),
        Periodic(COMPACTION_JOB, lambda: COMPACT_EVERY_S, compact_counts),
    ]
