"""The group-commit recorder of task outcomes: the generic writer, given this domain's lock.

Every outcome (a connector's answer, a partner's callback) is written under the lock of its
request and task, with its audit event, and settles the request: :mod:`app.worker.recorder`
gathers the outcomes of one moment into one transaction (its docstring has the figures).

A batch reads its requests and all their tasks in one query, locked in (request, task) id
order (two processes' batches never deadlock on PostgreSQL), so the work finds them in the
session without asking the database again (:func:`locked_request`, :func:`locked_task`,
:func:`request_tasks`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.models import DsrRequest, Task
from app.worker import recorder as group_commit
from app.worker.recorder import MAX_BATCH, Work, batching, insert_row

__all__ = ["MAX_BATCH", "Recorder", "Work", "batching", "holds", "insert_row", "lock_for",
           "locked_request", "locked_task", "request_tasks"]

_LOCKED = "dsr_locked_requests"  # session.info: requests read under lock with all their tasks
_HELD = "dsr_locked_rows"

_ASKED = aliased(DsrRequest)  # the requests asked for by id
_NAMED = aliased(Task)  # the tasks whose requests are wanted, beside all the tasks read
# One statement: the requests (``ids``, and those of ``task_ids``) with all their tasks, locked
# in (request, task) id order. On PostgreSQL each statement is a round trip, and three of them
# (the tasks' requests, the requests, their tasks) were a sixth of a batch's. The wanted ids
# are one UNION ALL of two primary-key lookups: written as ``id IN (...) OR id IN (SELECT
# request_id ...)`` the OR was planned as a filter over every request and a walk of every
# task (293 ms for 4 tasks among 120,000 requests and 360,000 tasks; 0.44 ms this way, by
# primary key and the task's request index, EXPLAIN ANALYZE on PostgreSQL 15).
_WANTED = union_all(
    select(col(_ASKED.id)).where(col(_ASKED.id).in_(bindparam("ids", expanding=True))),
    select(col(_NAMED.request_id)).where(
        col(_NAMED.id).in_(bindparam("task_ids", expanding=True))))
_LOCK = (select(DsrRequest, Task)
         .join(Task, col(Task.request_id) == col(DsrRequest.id))
         .where(col(DsrRequest.id).in_(_WANTED))
         .order_by(col(DsrRequest.id), col(Task.id))
         .with_for_update())


class Recorder(group_commit.Recorder):
    """This process's writer of task outcomes: a unit is a task's, grouped by its request."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH,
    ) -> None:
        super().__init__(sessionmaker, lock=lock_for, max_batch=max_batch)


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
