"""``dsr retention run``: everything due at a date, once, on this process's runtime."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import utcnow
from app.models import Task, TaskStatus
from app.retention.job import register_of
from app.retention.sweep import sweep
from app.runtime import build_runtime
from app.settings import Settings


async def due_scheduled(session: AsyncSession, as_of: date) -> list[Task]:
    end = datetime.combine(as_of, time.max, tzinfo=UTC)
    rows = await session.scalars(
        select(Task).where(col(Task.status) == TaskStatus.scheduled,
                           col(Task.scheduled_for) <= end)
        .order_by(col(Task.scheduled_for)))
    return list(rows)


async def run_retention(settings: Settings, *, as_of: date, dry_run: bool) -> list[str]:
    """Everything due at ``as_of``, once: the sweep, then every due task (deferred erasures
    included). Returns the lines ``dsr retention run`` prints."""
    lines: list[str] = []
    async with build_runtime(settings) as runtime:
        register = register_of(runtime.connectors)
        assert register is not None, "every deployment has its register"
        items = await sweep(runtime.sessionmaker, register, settings, as_of=as_of,
                            dry_run=dry_run)
        lines += [item.line(dry_run) for item in items]
        async with runtime.sessionmaker() as session:
            due = await due_scheduled(session, as_of)
        if dry_run:
            lines += [f"scheduled: {t.system} {t.action} task {t.id} (request {t.request_id}), "
                      f"due {t.scheduled_for.date() if t.scheduled_for else '?'}: would run"
                      for t in due]
            return lines or ["nothing is due"]
        simulated = as_of if as_of != utcnow().date() else None
        ran = await runtime.dispatcher.run_until_idle(as_of=simulated, max_rounds=100)
        async with runtime.sessionmaker() as session:
            for claimed in ran:
                task = await session.get(Task, claimed.call.task_id)
                if task is None:
                    continue
                summary = (task.outcome or {}).get("summary", "")
                later = (f"; next {task.scheduled_for.date()}"
                         if task.status is TaskStatus.scheduled and task.scheduled_for else "")
                lines.append(f"ran: {task.system} {task.action} task {task.id} (request "
                             f"{task.request_id}): {task.status.value}{later} - {summary}")
    return lines or ["nothing is due"]
