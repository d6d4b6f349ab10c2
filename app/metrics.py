"""Prometheus metrics (``GET /metrics``): what the 3 a.m. engineer and the privacy officer watch.

Figures that describe the whole service (requests by type and status, overdue requests, tasks
by system and status, retry attempts, notifications) are read from the database at scrape
time, so every API process reports the same cluster-wide truth whatever worker did the work.
The counts are maintained by the writes that change them (:mod:`app.models.counts`): a scrape
reads a few rows per key and the changes since the last compaction, however long the history.
Partner-call latency is observed by the dispatcher of the process that serves the scrape.
Only counts and timings, never identifiers or personal data.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import case, func, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import utcnow
from app.models import DsrRequest, Notification, Task
from app.models.counts import NOTIFICATIONS, REQUESTS, RETRIES, TASKS, MetricCount, MetricCountDelta
from app.services.lifecycle import overdue_clause

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Key = tuple[str, str, str]  # metric, label_a, label_b (see app.models.counts)


def _summed(*tables: Any) -> Any:
    both = union_all(*(sa_select(col(t.metric), col(t.label_a), col(t.label_b), col(t.value))
                       for t in tables)).subquery()
    return (sa_select(both.c.metric, both.c.label_a, both.c.label_b, func.sum(both.c.value))
            .group_by(both.c.metric, both.c.label_a, both.c.label_b))


# The counts of a scrape: the compacted counts and the changes since, summed per key.
COUNTS = _summed(MetricCount, MetricCountDelta)

# The same counts recounted from the tables, which the maintained ones must equal (the tests
# hold them equal). Each is answered from an index holding every column it reads.
REQUEST_COUNTS = (sa_select(col(DsrRequest.type), col(DsrRequest.status), func.count())
                  .group_by(col(DsrRequest.type), col(DsrRequest.status)))
TASK_COUNTS = (sa_select(col(Task.system), col(Task.status), func.count(),
                         func.sum(case((col(Task.attempts) > 1, col(Task.attempts) - 1),
                                       else_=0)))
               .group_by(col(Task.system), col(Task.status)))
NOTIFICATION_COUNTS = (sa_select(col(Notification.status), func.count())
                       .group_by(col(Notification.status)))


async def maintained(session: AsyncSession) -> dict[Key, int]:
    """The maintained counts, those not zero."""
    rows = await session.execute(COUNTS)
    return {(metric, a, b): int(value) for metric, a, b, value in rows if value}


async def recount(session: AsyncSession) -> dict[Key, int]:
    """The counts from the tables (read in full), keyed as :func:`maintained`'s."""
    counts: dict[Key, int] = {}
    for kind, state, number in await session.execute(REQUEST_COUNTS):
        counts[(REQUESTS, str(kind.value), str(state.value))] = number
    for system, task_state, number, attempts in await session.execute(TASK_COUNTS):
        counts[(TASKS, system, str(task_state.value))] = number
        counts[(RETRIES, system, "")] = counts.get((RETRIES, system, ""), 0) + int(attempts or 0)
    for delivery, number in await session.execute(NOTIFICATION_COUNTS):
        counts[(NOTIFICATIONS, str(delivery.value), "")] = number
    return {key: value for key, value in counts.items() if value}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Gauge("dsr_requests", "Requests by type and status",
                              ["type", "status"], registry=self.registry)
        self.overdue = Gauge("dsr_requests_overdue", "Open requests past their due date",
                             registry=self.registry)
        self.tasks = Gauge("dsr_tasks", "Tasks by system and status", ["system", "status"],
                           registry=self.registry)
        self.notifications = Gauge(
            "dsr_notifications", "Portal notifications by delivery status (failed: never "
            "acknowledged)", ["status"], registry=self.registry)
        self.retry_attempts = Gauge(
            "dsr_task_retry_attempts", "Attempts beyond the first, summed per system",
            ["system"], registry=self.registry)
        self.call_seconds = Histogram(
            "dsr_task_call_seconds", "Partner call duration per system (this process)",
            ["system"], registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.partner_calls = Counter(
            "dsr_partner_calls", "Calls (and polls) made to partners (this process)",
            ["system"], registry=self.registry)
        self.retries = Counter("dsr_task_retries", "Retries scheduled (this process)",
                               ["system"], registry=self.registry)
        self.task_latency = Histogram(
            "dsr_task_latency_seconds", "From task creation to a final outcome (this process)",
            ["system"], registry=self.registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400))

    async def render(self, session: AsyncSession) -> bytes:
        overdue = await session.scalar(
            sa_select(func.count()).select_from(DsrRequest).where(overdue_clause(utcnow())))
        self.overdue.set(overdue or 0)
        for gauge in (self.requests, self.tasks, self.retry_attempts, self.notifications):
            gauge.clear()
        retries: dict[str, int] = {}
        systems: set[str] = set()
        for (metric, a, b), value in (await maintained(session)).items():
            if metric == REQUESTS:
                self.requests.labels(type=a, status=b).set(value)
            elif metric == TASKS:
                self.tasks.labels(system=a, status=b).set(value)
                systems.add(a)
            elif metric == RETRIES:
                retries[a] = value
            elif metric == NOTIFICATIONS:
                self.notifications.labels(status=a).set(value)
        for system in systems:  # every system with tasks, as when they were recounted
            self.retry_attempts.labels(system=system).set(retries.get(system, 0))
        return generate_latest(self.registry)
