"""Group commit: job outcomes that arrive together are written in one transaction.

Every outcome is written under the lock of the rows it is about (its job and the job's group,
as the domain's lock statement reads them). Written one transaction each, the fixed cost of a
transaction (begin, reading the rows under lock, the flush, the commit) was most of the work,
and SQLite lets one transaction write at a time: in a burst, outcomes queued for the lock one
by one.

So each process has one :class:`Recorder`. An outcome is handed to it as a unit of work for a
job; while a batch is being written, new ones queue, and the next batch takes them all (up to
``max_batch``). Before it takes a batch, the writer lets the event loop run what is ready
until the loop has turned ``GATHER_TURNS`` times with no new outcome (or ``GATHER_MAX_S`` has
passed): the outcomes of one moment (a group's jobs finishing one after another) then share
one transaction. A group's outcomes used to be written one transaction each, each reading the
group and all its jobs under lock again: most of the CPU time of carrying out a group.
When the loop is idle, its turns take microseconds and a lone outcome is written at once.

Every batch is gathered so, not only the first one after a quiet spell: in a burst the next
batch used to be whatever had queued while the previous one was written (3.5 units on
average), so each group's outcomes were spread over more transactions, each reading it again.

The domain's ``lock`` reads a batch's rows in one query, locked in a fixed order (two
processes' batches never deadlock on PostgreSQL), and the batch's inserts reach the database
one statement per table (:func:`insert_row`) and one flush at commit.

If a batch fails, each of its units is written alone, so one that cannot be written never
holds the others back; its own caller gets the error. A unit must therefore keep side effects
outside the database (metrics, logs) out of the work itself, as it may run twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import unit_of_work

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]
# lock(session, keys whose group is not known, groups): read a batch's rows under lock
Lock = Callable[[AsyncSession, list[uuid.UUID], set[uuid.UUID]], Awaitable[None]]

MAX_BATCH = 64
GATHER_TURNS = 32  # event-loop turns without a new outcome that close a batch
GATHER_MAX_S = 0.025  # the longest a batch waits for more outcomes
_ROWS = "dsr_batched_rows"  # session.info: insert statement -> rows to write at the batch's end


@dataclass(slots=True)
class _Unit(Generic[T]):
    key: uuid.UUID
    group: uuid.UUID | None
    work: Work[T]
    done: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop()
                                    .create_future())


class Recorder:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, lock: Lock,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.lock = lock
        self.max_batch = max_batch
        self._queue: list[_Unit[Any]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, key: uuid.UUID, work: Work[T], *, group: uuid.UUID | None = None) -> T:
        """Run ``work`` in a transaction holding the lock of the job ``key`` and its group
        (with other units queued meanwhile), and return what it returned once committed. The
        caller that knows the group says so (one query less)."""
        unit: _Unit[T] = _Unit(key, group, work)
        self._queue.append(unit)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # shielded: the unit is written (or not) whether or not its caller still waits
        return await asyncio.shield(unit.done)

    async def close(self) -> None:
        """Wait until every unit handed over so far is written (a stopping process: an
        outcome already acted on is not left unrecorded)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _gather(self) -> None:
        """Let the event loop run until no outcome has arrived for ``GATHER_TURNS`` turns."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_MAX_S
        seen, quiet = len(self._queue), 0
        while quiet < GATHER_TURNS and seen < self.max_batch and loop.time() < deadline:
            await asyncio.sleep(0)  # one turn of the loop: whatever is ready runs
            if len(self._queue) > seen:
                seen, quiet = len(self._queue), 0
            else:
                quiet += 1

    async def _drain(self) -> None:
        while self._queue:
            await self._gather()
            batch = self._queue[: self.max_batch]
            del self._queue[: len(batch)]
            if len(batch) > 1:
                try:
                    results = await self._transaction(batch)
                except Exception:  # noqa: S110 - written one by one below; each caller is told
                    pass
                else:
                    for unit, result in zip(batch, results, strict=True):
                        _settle(unit, result=result)
                    continue
            for unit in batch:
                try:
                    [result] = await self._transaction([unit])
                except Exception as exc:
                    _settle(unit, error=exc)
                else:
                    _settle(unit, result=result)

    async def _transaction(self, batch: list[_Unit[Any]]) -> list[Any]:
        async with unit_of_work(self.sessionmaker) as session:
            await self.lock(session, [unit.key for unit in batch if unit.group is None],
                            {unit.group for unit in batch if unit.group is not None})
            session.info[_ROWS] = {}
            results = [await unit.work(session) for unit in batch]
            # The rows the units added, one statement per table, then one flush for the whole
            # batch, before commit: the commit hooks (the wake-up and, on PostgreSQL, NOTIFY)
            # see what it changed.
            for statement, rows in session.info.pop(_ROWS).items():
                await session.execute(statement, rows)
            await session.flush()
            return results


def _settle(unit: _Unit[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if unit.done.done():
        return
    if error is not None:
        unit.done.set_exception(error)
    else:
        unit.done.set_result(result)


async def insert_row(session: AsyncSession, statement: Any, row: dict[str, Any]) -> None:
    """Execute an INSERT for ``row``: in a batch, with the batch's other rows for the same
    statement in one statement at its end (nothing in a batch reads such rows back); else
    now."""
    batched: dict[Any, list[dict[str, Any]]] | None = session.info.get(_ROWS)
    if batched is None:
        await session.execute(statement, row)
    else:
        batched.setdefault(statement, []).append(row)


def batching(session: AsyncSession) -> bool:
    """Whether the session is a recorder batch's."""
    return _ROWS in session.info
