"""Tasks held back by per-customer ordering cost nothing until what holds them back is done.

Per-customer ordering (:func:`app.dispatch.rules.not_blocked`) keeps a later request's task
waiting while an earlier one of the customer is open at that system. Left on the ready index,
such a task was looked at again by every claim: with 15,000 writes queued for one customer,
one claim took 55 s and every other customer waited behind it. So::

    claim walks past a blocked task ──▶ hold: held, off the ready index (no ``ready_at``)
    a task of (customer, system) leaves the queue, or its request stops being open
        ──▶ release: that pair's held tasks, in order of receipt, up to the first still blocked

A claim's transaction only notes which due tasks it found blocked (:func:`candidates`); they
are held in a transaction of their own (:func:`hold`), each checked again there. Holding and
releasing a (customer, system) pair take one lock for it (PostgreSQL, an advisory lock taken
in one order; SQLite has one writer at a time), so a release can never miss a hold that a
concurrent claim was making: one of the two sees the other's commit. Releases run in the
transaction that took the task out of the queue (:func:`install_holds`, before it commits),
whatever made the change: a partner's answer, a callback, an agent's action.

The claim keeps its own ordering test, so a hold is an optimisation and never a rule: a task
wrongly released is only looked at again, and one wrongly held would wait for the periodic
:func:`sweep`, which releases what a release missed and says so in the log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, func, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, attributes
from sqlmodel import col

from app.db import unit_of_work
from app.dispatch import rules
from app.models import DsrRequest, Task, TaskStatus
from app.partners import PARTNERS
from app.services import lifecycle
from app.worker import wakeup

log = logging.getLogger("app.dispatch")

Pair = tuple[str, str]  # (customer number, system)
LEAVING = "dsr_leaving"  # session.info: pairs whose queue a flush changed
BATCH = 32  # held tasks looked at per statement of a release, in order of receipt
_INSTALLED = "dsr_holds"

_CANDIDATES = (
    select(col(Task.id), col(Task.customer_number), col(Task.system))
    .join(DsrRequest, col(DsrRequest.id) == col(Task.request_id))
    .where(col(Task.ready_at) <= bindparam("upto"), col(Task.status) == TaskStatus.pending,
           col(DsrRequest.status).in_([s.value for s in lifecycle.ACTIVE]),
           ~rules.not_blocked())
    .order_by(col(Task.ready_at)).limit(512))
_HOLD_ROWS = (
    select(col(Task.id)).where(col(Task.id).in_(bindparam("ids", expanding=True)),
                               col(Task.status) == TaskStatus.pending,
                               col(Task.held).is_(False), ~rules.not_blocked())
    .with_for_update(skip_locked=True))
_HOLD = (update(Task).where(col(Task.id).in_(bindparam("ids", expanding=True)))
         .values(held=True, ready_at=None))
_HELD = (
    select(col(Task.id)).where(col(Task.held),  # as ix_task_held's condition is written
                               col(Task.customer_number) == bindparam("customer"),
                               col(Task.system) == bindparam("system"))
    .order_by(col(Task.received_at), col(Task.request_id)).limit(BATCH)
    .with_for_update(skip_locked=True))
_RELEASE = (
    update(Task)
    .where(col(Task.id).in_(bindparam("ids", expanding=True)), col(Task.held),
           rules.not_blocked())
    .values(held=False, ready_at=func.coalesce(col(Task.next_attempt_at), col(Task.created_at)))
    .returning(col(Task.id), col(Task.ready_at)))
_HELD_PAIRS = (select(col(Task.customer_number), col(Task.system)).where(col(Task.held))
               .distinct().limit(1024))
_LOCK = text("SELECT count(pg_advisory_xact_lock(k)) FROM "
             "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS sorted")


def lock_key(pair: Pair) -> int:
    """The pair's advisory lock key: a stable 64-bit hash (two pairs sharing one only wait
    for each other)."""
    digest = hashlib.blake2b("\x00".join(pair).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock(session: Session, pairs: Iterable[Pair]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"keys": sorted({lock_key(pair) for pair in pairs})})


async def candidates(session: AsyncSession, upto: Any) -> list[tuple[Any, str, str]]:
    """Due, pending tasks of open requests that ordering holds back, ready by ``upto``: what
    the claim walked past (run in the claim's transaction; it takes no locks)."""
    return [(row[0], row[1], row[2]) for row in await session.execute(_CANDIDATES,
                                                                      {"upto": upto})]


async def hold(sessionmaker: async_sessionmaker[AsyncSession],
               found: list[tuple[Any, str, str]]) -> int:
    """Hold the tasks a claim found blocked, each checked again under its pair's lock."""
    if not found:
        return 0
    async with unit_of_work(sessionmaker) as session:
        await session.run_sync(_lock, {(customer, system) for _, customer, system in found})
        ids = list((await session.scalars(_HOLD_ROWS, {"ids": [i for i, _, _ in found]})).all())
        if ids:
            await session.execute(_HOLD, {"ids": ids},
                                  execution_options={"synchronize_session": False})
        return len(ids)


def release(session: Session, pairs: Iterable[Pair]) -> int:
    """Release the held tasks of ``pairs`` that nothing holds back any more, in order of
    receipt (they come first: the first one still held back holds back all after it). Runs in
    the session's own transaction; objects of those tasks in the session are kept true."""
    pairs = sorted(set(pairs))
    if not pairs:
        return 0
    _lock(session, pairs)
    released = 0
    for customer, system in pairs:
        while True:
            ids = list(session.scalars(_HELD, {"customer": customer, "system": system}))
            if not ids:
                break
            rows = session.execute(_RELEASE, {"ids": ids},
                                   execution_options={"synchronize_session": False}).all()
            for task_id, ready_at in rows:
                _refresh(session, task_id, ready_at)
            released += len(rows)
            if len(rows) < len(ids) or len(ids) < BATCH:
                break
    if released:
        wakeup.signal_work(session)  # new work: wake the workers once this commits
    return released


def _refresh(session: Session, task_id: Any, ready_at: Any) -> None:
    task = session.identity_map.get(session.identity_key(Task, task_id))
    if task is not None:
        attributes.set_committed_value(task, "held", False)
        attributes.set_committed_value(task, "ready_at", ready_at)


def _changed(obj: Any, attribute: str) -> bool:
    return bool(sa_inspect(obj).attrs[attribute].history.has_changes())


def _watch(session: Session, _context: Any) -> None:
    """After a flush: the pairs whose queue may have moved on."""
    for obj in session.dirty | session.deleted:
        if isinstance(obj, Task) and (obj in session.deleted or (
                obj.status not in lifecycle.TASK_BLOCKING and _changed(obj, "status"))):
            session.info.setdefault(LEAVING, set()).add((obj.customer_number, obj.system))
        elif isinstance(obj, DsrRequest) and (obj in session.deleted or (
                obj.status not in lifecycle.ACTIVE and _changed(obj, "status"))):
            session.info.setdefault(LEAVING, set()).update(
                (obj.customer_number, system) for system in PARTNERS)


def _before_commit(session: Session) -> None:
    session.flush()  # autoflush is off: what is still pending may take a task out of the queue
    leaving = session.info.pop(LEAVING, None)
    if leaving:
        release(session, leaving)


def _forget(session: Session) -> None:
    session.info.pop(LEAVING, None)


def install_holds(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Release held tasks in every transaction of ``sessionmaker`` that takes a task out of
    the queue (idempotent: each sessionmaker's session class is hooked once)."""
    session_class = sessionmaker.kw["sync_session_class"]
    if getattr(session_class, _INSTALLED, False):
        return
    setattr(session_class, _INSTALLED, True)
    event.listen(session_class, "after_flush", _watch)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)


async def sweep(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Release every held task nothing holds back (periodic): only a missed release leaves
    one, so any found is logged."""
    async with unit_of_work(sessionmaker) as session:
        pairs = [(row[0], row[1]) for row in await session.execute(_HELD_PAIRS)]
        released = await session.run_sync(release, pairs) if pairs else 0
    if released:
        log.warning("held tasks released by the sweep: a release was missed",
                    extra={"released": released})
    return released
