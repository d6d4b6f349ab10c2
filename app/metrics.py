"""Prometheus metrics (``GET /metrics``): what the 3 a.m. engineer and the privacy officer watch.

Figures that describe the whole service (requests by type and status, overdue requests, tasks
by system and status, retry attempts) are read from the database at scrape time, so every API
process reports the same cluster-wide truth whatever worker did the work. Partner-call latency
is observed by the dispatcher of the process that serves the scrape. Only counts and timings,
never identifiers or personal data.
"""

from __future__ import annotations

from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import utcnow
from app.models import DsrRequest, Notification, Task
from app.services.lifecycle import overdue_clause

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The counts of a scrape, built once. Each is answered from an index that holds every column it
# reads (migration 0009), so a scrape does not read the tables: with 100,000 requests it read
# both, 98-108 ms on the event loop on SQLite.
REQUEST_COUNTS = (sa_select(col(DsrRequest.type), col(DsrRequest.status), func.count())
                  .group_by(col(DsrRequest.type), col(DsrRequest.status)))
TASK_COUNTS = (sa_select(col(Task.system), col(Task.status), func.count(),
                         func.sum(case((col(Task.attempts) > 1, col(Task.attempts) - 1),
                                       else_=0)))
               .group_by(col(Task.system), col(Task.status)))


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
        self.requests.clear()
        rows = await session.execute(REQUEST_COUNTS)
        for kind, state, count in rows:
            self.requests.labels(type=str(kind.value), status=str(state.value)).set(count)
        overdue = await session.scalar(
            sa_select(func.count()).select_from(DsrRequest).where(overdue_clause(utcnow())))
        self.overdue.set(overdue or 0)
        self.tasks.clear()
        self.retry_attempts.clear()
        rows = await session.execute(TASK_COUNTS)
        retries: dict[str, int] = {}
        for row in rows:
            system, task_state, count, attempts = cast(tuple[str, Any, int, int | None], tuple(row))
            self.tasks.labels(system=system, status=str(task_state.value)).set(count)
            retries[system] = retries.get(system, 0) + int(attempts or 0)
        for system, value in retries.items():
            self.retry_attempts.labels(system=system).set(value)
        self.notifications.clear()
        deliveries = await session.execute(
            sa_select(col(Notification.status), func.count()).group_by(col(Notification.status)))
        for delivery, number in deliveries:
            self.notifications.labels(status=str(delivery.value)).set(number)
        return generate_latest(self.registry)
