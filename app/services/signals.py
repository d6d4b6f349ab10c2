"""Named signals a transaction raises for after it commits (kept apart to avoid import cycles).

``signal_work(session)``: there is new work for the workers (tasks to dispatch, a
notification to deliver). ``signal_answer(session)``: a request became final, its answer is to
be built. ``services.dispatch.install_wakeup`` turns them into in-process wake-ups and, on
PostgreSQL, a ``NOTIFY`` to other processes; a rollback drops them.
"""

from __future__ import annotations

from typing import Any

WORK_SIGNAL = "dsr_work"
ANSWER_SIGNAL = "dsr_answer"


def signal_work(session: Any) -> None:
    """Wake the workers once this transaction commits (dropped if it rolls back)."""
    session.info[WORK_SIGNAL] = True


def take_signal(session: Any) -> bool:
    """Whether the transaction signalled work (and forget it): for the commit hooks."""
    return bool(session.info.pop(WORK_SIGNAL, False))


def signal_answer(session: Any) -> None:
    """An answer is to be built once this transaction commits. Not a reason to claim tasks:
    the in-process worker builds it when none is in flight (see install_wakeup)."""
    session.info[ANSWER_SIGNAL] = True


def has_signal(session: Any) -> bool:
    """Whether the transaction signalled anything for the workers (NOTIFY on PostgreSQL)."""
    return bool(session.info.get(WORK_SIGNAL) or session.info.get(ANSWER_SIGNAL))
