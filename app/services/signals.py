"""Named signals a transaction raises for after it commits (kept apart to avoid import cycles).

``signal_work(session)``: there is new work for the workers (tasks to dispatch, an answer to
build, a notification to deliver). ``services.dispatch.install_wakeup`` turns it into an
in-process wake-up and, on PostgreSQL, a ``NOTIFY`` to other processes; a rollback drops it.
"""

from __future__ import annotations

from typing import Any

WORK_SIGNAL = "dsr_work"


def signal_work(session: Any) -> None:
    """Wake the workers once this transaction commits (dropped if it rolls back)."""
    session.info[WORK_SIGNAL] = True


def take_signal(session: Any) -> bool:
    """Whether the transaction signalled work (and forget it): for the commit hooks."""
    return bool(session.info.pop(WORK_SIGNAL, False))


def has_signal(session: Any) -> bool:
    return bool(session.info.get(WORK_SIGNAL))
