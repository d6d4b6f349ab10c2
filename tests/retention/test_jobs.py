"""Retention's periodic jobs on the worker: each runs once per interval across all workers."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlmodel import select

from app.db import utcnow
from app.models import ScheduledJob, WebhookReceipt
from app.retention.job import HOUSEKEEPING_JOB, jobs


def _worker(app: Any, worker_id: str) -> Any:
    state = app.state
    return SimpleNamespace(settings=state.settings, sessionmaker=state.sessionmaker,
                           connectors={}, worker_id=worker_id)


async def test_housekeeping_runs_once_per_interval_whichever_worker_asks(app) -> None:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session, session.begin():
        session.add(WebhookReceipt(system="partner", webhook_id="old",
                                   received_at=utcnow() - timedelta(days=8)))
    first, second = (
        next(job for job in jobs(_worker(app, name)) if job.name == HOUSEKEEPING_JOB)
        for name in ("worker-a", "worker-b"))
    await first.run()
    async with app.state.sessionmaker() as session:
        row = await session.get(ScheduledJob, HOUSEKEEPING_JOB)
        assert row is not None and row.last_result is not None
        ran_at, result = row.last_run_at, dict(row.last_result)
        assert result["webhook_receipts"] == 1
        assert row.next_run_at - ran_at == timedelta(
            seconds=app.state.settings.housekeeping_interval_s)
        assert row.lease_owner is None
    # Another worker asking within the interval finds it done: nothing runs again.
    async with app.state.sessionmaker() as session, session.begin():
        session.add(WebhookReceipt(system="partner", webhook_id="older",
                                   received_at=utcnow() - timedelta(days=9)))
    await second.run()
    async with app.state.sessionmaker() as session:
        row = await session.get(ScheduledJob, HOUSEKEEPING_JOB)
        assert row is not None and row.last_run_at == ran_at
        kept = [r.webhook_id for r in await session.scalars(select(WebhookReceipt))]
        assert kept == ["older"]
