"""What the runner needs of a job kind: a small protocol.

A kind says what is due and leases it (:meth:`JobKind.claim`: one short transaction, the
prepared jobs out of it), and carries a claimed job out (:meth:`JobKind.execute`: the call
outside any transaction, then its result or its error recorded, the retry decided by
:mod:`app.worker.retry`). ``execute`` never raises: whatever goes wrong is the kind's to record.
Work beside the slotted jobs (a drain of an outbox, a periodic job) is a
:class:`~app.worker.periodic.Periodic`; work put off while jobs run is a :class:`Deferred`.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, TypeVar

J = TypeVar("J")


class JobKind(Protocol[J]):
    async def claim(self, limit: int, *, as_of: date | None = None) -> list[J]:
        """Lease up to ``limit`` due jobs, prepared to run (``as_of``: a simulated date that
        scheduled work is judged by)."""
        ...

    async def execute(self, job: J) -> None:
        """Carry one claimed job out and record its result or error (never raises)."""
        ...


class Deferred(Protocol):
    """Costly work that yields to the slotted jobs (see :class:`app.worker.pacing.Pacing`)."""

    def defer_s(self) -> float:
        """How long a piece of it waits while jobs are in flight."""
        ...

    def backlog_s(self) -> float:
        """How long at most it waits while the worker has a backlog."""
        ...

    async def run(self) -> None:
        """Do what is due now (asking the pacing whether the worker is busy); never raises."""
        ...
