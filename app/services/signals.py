"""Named signals a transaction raises for after it commits (kept apart to avoid import cycles).

``signal_work(session)`` (the worker's own, :mod:`app.worker.wakeup`): there is new work for
the workers (tasks to dispatch, a notification to deliver). ``signal_answer(session)``: a
request became final, its answer is to be built. ``app.dispatch.wakeup.install_wakeup`` turns
them into in-process wake-ups and, on PostgreSQL, a ``NOTIFY`` to other processes; a rollback
drops them.
"""

from __future__ import annotations

from typing import Any

from app.worker.wakeup import WORK_SIGNAL

ANSWER_SIGNAL = "dsr_answer"


def signal_answer(session: Any) -> None:
    """An answer is to be built once this transaction commits. Not a reason to claim tasks:
    the in-process worker builds it when none is in flight (see install_wakeup)."""
    session.info[ANSWER_SIGNAL] = True


def has_signal(session: Any) -> bool:
    """Whether the transaction signalled anything for the workers (NOTIFY on PostgreSQL)."""
    return bool(session.info.get(WORK_SIGNAL) or session.info.get(ANSWER_SIGNAL))
