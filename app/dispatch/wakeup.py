"""When a commit is a reason to wake the worker: the domain's side of :mod:`app.worker.wakeup`.

New work is picked up at once: a commit that signalled work (``signal_work``) wakes the
in-process worker, and on PostgreSQL also ``NOTIFY dsr_tasks`` wakes workers in other
processes. A task released from its hold (a task before it left the queue:
:mod:`app.dispatch.holds`) is signalled work too. A request that became final calls
``answer_due()`` (its answer is to be built), so the worker neither polls for either nor asks
the database on every wake-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import DsrRequest
from app.services import lifecycle
from app.services.signals import ANSWER_SIGNAL
from app.worker import wakeup

NOTIFY_CHANNEL = "dsr_tasks"  # the workers of every process listen on it


def _changed(obj: Any, attribute: str) -> bool:
    return bool(sa_inspect(obj).attrs[attribute].history.has_changes())


def install_wakeup(
    sessionmaker: async_sessionmaker[AsyncSession], wake: asyncio.Event,
    answer_due: Callable[[], None] | None = None,
) -> None:
    """Wake the in-process worker after any commit that created dispatchable work."""

    def watch(session: Any) -> None:
        for obj in session.dirty:
            if isinstance(obj, DsrRequest) and obj.status in lifecycle.FINAL \
                    and _changed(obj, "status"):
                session.info[ANSWER_SIGNAL] = True

    def committed(session: Any, signalled: bool) -> bool:
        if session.info.pop(ANSWER_SIGNAL, False) and answer_due is not None:
            answer_due()
        return signalled

    def dropped(session: Any) -> None:
        session.info.pop(ANSWER_SIGNAL, None)

    wakeup.install(sessionmaker, wake, channel=NOTIFY_CHANNEL, pending=lifecycle.has_signal,
                   on_flush=watch, on_commit=committed, on_rollback=dropped)
