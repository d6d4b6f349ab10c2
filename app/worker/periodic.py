"""Periodic jobs: a leased row per job in ``scheduled_job``, so exactly one worker runs each.

A job is due when its ``next_run_at`` has come and no live lease holds it; the worker that
leases it runs it, records the result and sets the next run one interval on ("due, run,
next"). A worker that dies mid-run leaves a lease that expires after ``JOB_LEASE_S``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app import db_outage
from app.db import unit_of_work, utcnow
from app.models import ScheduledJob
from app.worker import lease

log = logging.getLogger("app.worker")
JOB_LEASE_S = 3600.0
Job = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job a worker starts every ``every_s`` (0: each round of its loop), beside its slotted
    jobs, one at a time; ``inline``: awaited as the round begins instead. Whether one worker
    of all runs it is the job's own: :func:`run_if_due` leases it in the table."""

    name: str
    every_s: Callable[[], float]
    run: Callable[[], Awaitable[Any]]
    inline: bool = False


async def run_if_due(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, *, interval_s: float,
    job: Job, owner: str | None = None,
) -> dict[str, Any] | None:
    """Run ``job`` if ``name`` is due and no other worker holds it; None if it did not run."""
    owner = owner or lease.owner_id()
    now = utcnow()
    try:
        async with unit_of_work(sessionmaker) as session:
            row = (await session.scalars(lease.skip_locked(
                select(ScheduledJob).where(col(ScheduledJob.name) == name)))).first()
            if row is None:
                if await session.get(ScheduledJob, name) is not None:
                    return None  # another worker holds the row right now
                row = ScheduledJob(name=name, next_run_at=now)
                session.add(row)
                await session.flush()
            if row.next_run_at > now or (row.lease_until is not None and row.lease_until > now):
                return None
            row.lease_owner, row.lease_until = owner, now + timedelta(seconds=JOB_LEASE_S)
    except IntegrityError:
        return None  # two workers created the row at once; the other one runs it
    result: dict[str, Any]
    try:
        result = await job()
    except Exception as exc:  # the job is tried again next interval
        db_outage.failed(log, "scheduled job failed", exc, job=name)
        result = {"error": type(exc).__name__}
    async with unit_of_work(sessionmaker) as session:
        row = await session.get(ScheduledJob, name, with_for_update=True)
        if row is not None and lease.held(row.lease_owner, owner):
            finished = utcnow()
            row.last_run_at, row.last_result = finished, result
            row.next_run_at = finished + timedelta(seconds=interval_s)
            row.lease_owner = row.lease_until = None
    return result
