"""When a commit is a reason to wake the worker: the domain's side of :mod:`app.worker.wakeup`.

New work is picked up at once: a commit that signalled work (``signal_work``) wakes the
in-process worker, and on PostgreSQL also ``NOTIFY dsr_tasks`` wakes workers in other
processes. Besides: a flush that moves a task out of the queued and in-flight states may
release a later request's task at that system (per-customer ordering): it wakes the worker
when ``blocked()`` says a task of that customer at that system is waiting (None: not known, so
it wakes). A request that became final calls ``answer_due()`` (its answer is to be built), so
the worker neither polls for either nor asks the database on every wake-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import DsrRequest, Task
from app.services import lifecycle
from app.services.signals import ANSWER_SIGNAL
from app.worker import wakeup

NOTIFY_CHANNEL = "dsr_tasks"  # the workers of every process listen on it
RELEASED = "dsr_released"  # (customer, system) of tasks a flush took out of the queue


def _changed(obj: Any, attribute: str) -> bool:
    return bool(sa_inspect(obj).attrs[attribute].history.has_changes())


def install_wakeup(
    sessionmaker: async_sessionmaker[AsyncSession], wake: asyncio.Event,
    answer_due: Callable[[], None] | None = None,
    blocked: Callable[[], frozenset[tuple[str, str]] | None] | None = None,
) -> None:
    """Wake the in-process worker after any commit that created dispatchable work."""

    def watch(session: Any) -> None:
        for obj in session.dirty:
            if isinstance(obj, Task) and obj.status not in lifecycle.TASK_BLOCKING \
                    and _changed(obj, "status"):
                session.info.setdefault(RELEASED, set()).add((obj.customer_number, obj.system))
            elif isinstance(obj, DsrRequest) and obj.status in lifecycle.FINAL \
                    and _changed(obj, "status"):
                session.info[ANSWER_SIGNAL] = True

    def pending(session: Any) -> bool:
        return bool(lifecycle.has_signal(session) or session.info.get(RELEASED))

    def committed(session: Any, signalled: bool) -> bool:
        if session.info.pop(ANSWER_SIGNAL, False) and answer_due is not None:
            answer_due()
        released = session.info.pop(RELEASED, None)
        if signalled:
            return True
        if not released:
            return False
        waiting = blocked() if blocked is not None else None
        return waiting is None or not waiting.isdisjoint(released)

    def dropped(session: Any) -> None:
        session.info.pop(ANSWER_SIGNAL, None)
        session.info.pop(RELEASED, None)

    wakeup.install(sessionmaker, wake, channel=NOTIFY_CHANNEL, pending=pending,
                   on_flush=watch, on_commit=committed, on_rollback=dropped)
