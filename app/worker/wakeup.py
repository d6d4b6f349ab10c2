"""Waking workers: a transaction that created work wakes them once it commits, not before.

Three ways, one module: :func:`signal_work` marks a transaction (dropped if it rolls back);
:func:`install` adds the commit hooks that turn the marks into an in-process wake-up and, on
PostgreSQL, a ``NOTIFY`` to the workers of other processes; :func:`listen` is the other end of
that ``NOTIFY`` (reconnecting). A kind may watch flushes for work its own rows release
(``on_flush``) and decide after commit whether that is a reason to wake (``on_commit``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

WORK_SIGNAL = "dsr_work"


def signal_work(session: Any) -> None:
    """Wake the workers once this transaction commits (dropped if it rolls back)."""
    session.info[WORK_SIGNAL] = True


def take_signal(session: Any) -> bool:
    """Whether the transaction signalled work (and forget it): for the commit hooks."""
    return bool(session.info.pop(WORK_SIGNAL, False))


def install(
    sessionmaker: async_sessionmaker[AsyncSession], wake: asyncio.Event, *, channel: str,
    pending: Callable[[Any], bool],
    on_flush: Callable[[Any], None] | None = None,
    on_commit: Callable[[Any, bool], bool] | None = None,
    on_rollback: Callable[[Any], None] | None = None,
) -> None:
    """Commit hooks on ``sessionmaker``'s sessions. ``pending(session)``: whether the
    transaction holds anything for other processes (then ``NOTIFY channel`` on PostgreSQL).
    ``on_commit(session, signalled)`` returns whether to wake (default: ``signalled``)."""
    session_class = sessionmaker.kw["sync_session_class"]

    if on_flush is not None:
        watch = on_flush

        @event.listens_for(session_class, "after_flush")
        def _watch(session: Any, _context: Any) -> None:
            watch(session)

    @event.listens_for(session_class, "before_commit")
    def _notify(session: Any) -> None:
        if pending(session) and session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"NOTIFY {channel}"))  # other processes' waiting work

    @event.listens_for(session_class, "after_commit")
    def _wake(session: Any) -> None:
        signalled = take_signal(session)
        if on_commit(session, signalled) if on_commit is not None else signalled:
            wake.set()

    @event.listens_for(session_class, "after_rollback")
    def _drop(session: Any) -> None:
        if on_rollback is not None:
            on_rollback(session)
        take_signal(session)


async def listen(
    database_url: str, channel: str, wake: asyncio.Event, stopping: asyncio.Event,
) -> None:
    """On PostgreSQL, wake on ``NOTIFY channel`` from any process (reconnecting) until
    ``stopping``."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return
    import asyncpg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stopping.is_set():
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(2.0)
            continue
        try:
            await conn.add_listener(channel, lambda *_args: wake.set())
            while not stopping.is_set() and not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=5.0)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
