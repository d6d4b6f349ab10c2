"""Group commit: task outcomes that arrive together are written in one transaction.

Every outcome (a connector's answer, a partner's callback) is written under the lock of its
request and task, with its audit event, and settles the request. Written one transaction
each, the fixed cost of a transaction (begin, reading the request and task rows under lock,
the flush, the commit) was most of the work, and SQLite lets one transaction write at a time:
in a burst, outcomes queued for the lock one by one.

So each process has one :class:`Recorder`. An outcome is handed to it as a unit of work for a
task; while a batch is being written, new ones queue, and the next batch takes them all (up to
``max_batch``). Before it takes a batch, the writer lets the event loop run what is ready
until the loop has turned ``GATHER_TURNS`` times with no new outcome (or ``GATHER_MAX_S`` has
passed): the outcomes of one moment (a request's tasks answering one after another, their
callbacks) then share one transaction. A request's outcomes used to be written one
transaction each, each reading the request and all its tasks under lock again: most of the
CPU time of carrying out a request. When the loop is idle, waiting on partners, its turns
take microseconds and a lone outcome is written at once.

Every batch is gathered so, not only the first one after a quiet spell: in a burst the next
batch used to be whatever had queued while the previous one was written (3.5 units on
average), so each request's outcomes were spread over more transactions, each reading it and
its tasks again.

A batch reads its requests and all their tasks in one query, locked in (request, task) id
order (two processes' batches never deadlock on PostgreSQL), so the work finds them in the session
without asking the database again (:func:`locked_request`, :func:`locked_task`,
:func:`request_tasks`), and its writes reach the database in one flush at commit.

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

from sqlalchemy import bindparam, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import DsrRequest, Task

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

MAX_BATCH = 64
GATHER_TURNS = 32  # event-loop turns without a new outcome that close a batch
GATHER_MAX_S = 0.025  # the longest a batch waits for more outcomes
_LOCKED = "dsr_locked_requests"  # session.info: requests read under lock with all their tasks
_HELD = "dsr_locked_rows"
_ROWS = "dsr_batched_rows"  # session.info: insert statement -> rows to write at the batch's end

_NAMED = aliased(Task)  # the tasks whose requests are wanted, beside all the tasks read
# One statement: the requests (``ids``, and those of ``task_ids``) with all their tasks, locked
# in (request, task) id order. On PostgreSQL each statement is a round trip, and three of them
# (the tasks' requests, the requests, their tasks) were a sixth of a batch's.
_LOCK = (select(DsrRequest, Task)
         .join(Task, col(Task.request_id) == col(DsrRequest.id))
         .where(or_(col(DsrRequest.id).in_(bindparam("ids", expanding=True)),
                    col(DsrRequest.id).in_(select(col(_NAMED.request_id)).where(
                        col(_NAMED.id).in_(bindparam("task_ids", expanding=True))))))
         .order_by(col(DsrRequest.id), col(Task.id))
         .with_for_update())


@dataclass(slots=True)
class _Unit(Generic[T]):
    task_id: uuid.UUID
    request_id: uuid.UUID | None
    work: Work[T]
    done: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop()
                                    .create_future())


class Recorder:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self._queue: list[_Unit[Any]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(
        self, task_id: uuid.UUID, work: Work[T], *, request_id: uuid.UUID | None = None,
    ) -> T:
        """Run ``work`` in a transaction holding the lock of the task and its request (with
        other units queued meanwhile), and return what it returned once committed. The
        caller that knows the task's request says so (one query less)."""
        unit: _Unit[T] = _Unit(task_id, request_id, work)
        self._queue.append(unit)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # shielded: the unit is written (or not) whether or not its caller still waits
        return await asyncio.shield(unit.done)

    async def close(self) -> None:
        """Wait until every unit handed over so far is written (a stopping process: an
        outcome a partner has already acted on is not left unrecorded)."""
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
            await lock_for(session, [unit.task_id for unit in batch if unit.request_id is None],
                           {unit.request_id for unit in batch if unit.request_id is not None})
            session.info[_ROWS] = {}
            results = [await unit.work(session) for unit in batch]
            # The rows the units added (audit events, results), one statement per table, then
            # one flush for the whole batch, before commit: the commit hooks (the wake-up and,
            # on PostgreSQL, NOTIFY) see what it changed.
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


async def lock_for(
    session: AsyncSession, task_ids: list[uuid.UUID], known: set[uuid.UUID] | None = None,
) -> None:
    """Lock these requests (``known``) and those of these tasks, and all their tasks, in id
    order, in one query; the session then answers :func:`locked_request` and
    :func:`locked_task` itself. (A unit is always about a task, so each of its requests has
    one; a request read no other way is locked when it is asked for.)"""
    if not task_ids and not known:
        return
    rows = [(request, task) for request, task in await session.execute(
        _LOCK, {"ids": sorted(known or ()), "task_ids": task_ids})]
    # The identity map holds objects weakly: kept here, they stay in it for the transaction.
    session.info.setdefault(_HELD, []).extend(obj for row in rows for obj in row)
    session.info.setdefault(_LOCKED, set()).update(request.id for request, _ in rows)


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


def holds(session: AsyncSession, request_id: uuid.UUID) -> bool:
    """Whether this transaction read the request and all its tasks under lock already."""
    return request_id in session.info.get(_LOCKED, ())


async def locked_request(session: AsyncSession, request_id: uuid.UUID) -> DsrRequest | None:
    """The request, row-locked (from the session when :func:`lock_for` locked it)."""
    if holds(session, request_id):
        return await session.get(DsrRequest, request_id)
    return await session.get(DsrRequest, request_id, with_for_update=True,
                             populate_existing=True)


async def locked_task(
    session: AsyncSession, task_id: uuid.UUID, request_id: uuid.UUID
) -> Task | None:
    """The task, row-locked after its request (from the session when already locked)."""
    if holds(session, request_id):
        return await session.get(Task, task_id)
    return await session.get(Task, task_id, with_for_update=True, populate_existing=True)


def request_tasks(session: AsyncSession, request_id: uuid.UUID) -> list[Task] | None:
    """The request's tasks as this transaction has them, if :func:`lock_for` read them all
    (with any added since); None: ask the database."""
    if not holds(session, request_id):
        return None
    found = {id(obj): obj for obj in list(session.identity_map.values()) + list(session.new)
             if isinstance(obj, Task) and obj.request_id == request_id}
    return list(found.values())
