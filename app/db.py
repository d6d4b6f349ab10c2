"""Database engine, session dependency and the column types every table shares.

The session dependency owns the transaction: services ``flush()``, the dependency commits when
the route returns and rolls back when it raises. The worker opens its own session per unit of
work with :func:`unit_of_work`.

SQLite is the embedded default. It is put in WAL mode and every transaction starts with
``BEGIN IMMEDIATE``: SQLite has one writer at a time anyway, and taking the write lock up front
means two transactions never read the same snapshot and then collide on upgrade (which SQLite
reports as an immediate "database is locked" instead of waiting). Within a process the
transactions queue for that lock on an asyncio lock first, in order: SQLite's own busy handler
waits by sleeping in growing steps (up to 100 ms) and retrying, so with a dozen transactions
contending, most of the time went on sleeping past the moment the lock was free. Other
processes on the same file still meet the busy handler, as before.

Statements on SQLite run on the event loop's own thread, except ``BEGIN IMMEDIATE``, the one
statement that may wait (for another process's transaction), which runs on the driver's
thread as before. A local SQLite statement takes microseconds; handing each to a thread and
back took a loop round trip, and a transaction holding the write lock waited for one such
round trip per statement while the loop served everything else: the lock, and with it every
write of the process, was held far longer than the work took.

PostgreSQL gets a bounded pool per process (``DSR_DB_POOL_SIZE`` + ``DSR_DB_MAX_OVERFLOW``):
callers beyond it wait their turn in the pool rather than open connections (README: sizing).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from sqlalchemy import DateTime, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (the documented
        # recipe for pysqlite/aiosqlite), so SAVEPOINT and BEGIN IMMEDIATE work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # One writer lock per event loop (an engine may outlive a test's loop).
    locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
        weakref.WeakKeyDictionary())

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A reader in WAL mode sees one snapshot and never waits for the writer: it takes
            # no write lock, and cannot write (query_only) so it never needs one.
            connection.exec_driver_sql("BEGIN")
            connection.exec_driver_sql("PRAGMA query_only = ON")
            connection.info[_READING] = True
            return
        lock = locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        await_only(lock.acquire())
        connection.info[_HOLDS] = lock
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection)
            raise

    event.listen(engine.sync_engine, "commit", _release)
    event.listen(engine.sync_engine, "rollback", _release)


_HOLDS = "dsr_write_lock"
_READING = "dsr_reading"
READ_ONLY = "dsr_read_only"  # execution option: see reading()


def _release(connection: Any) -> None:
    if connection.info.pop(_READING, False):
        connection.exec_driver_sql("PRAGMA query_only = OFF")
    lock = connection.info.pop(_HOLDS, None)
    if lock is not None:
        lock.release()


class _InlineSQLite(aiosqlite.Connection):
    """aiosqlite whose statements run at once on the caller's thread.

    ``BEGIN IMMEDIATE`` is tried there too, without waiting: it only has to wait when
    another process holds the database, and then it is sent to the driver's thread to wait
    (up to the busy timeout) without blocking the event loop.
    """

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        raw = self._connection
        if raw is None:
            return await super()._execute(fn, *args, **kwargs)
        if not (args and isinstance(args[0], str)
                and args[0].lstrip()[:15].upper() == "BEGIN IMMEDIATE"):
            return fn(*args, **kwargs)
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        return await super()._execute(fn, *args, **kwargs)


def _sqlite_creator(path: str) -> Any:
    async def connect() -> aiosqlite.Connection:
        connection = _InlineSQLite(
            lambda: sqlite3.connect(path, check_same_thread=False), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return await connection

    return connect


def create_engine(
    database_url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 5,
) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database or ":memory:"
        engine = create_async_engine(database_url, echo=echo,
                                     async_creator=_sqlite_creator(path))
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        database_url, echo=echo, pool_pre_ping=True, pool_size=pool_size,
        max_overflow=max_overflow,
    )


def create_sessionmaker(
    engine: AsyncEngine, *, notify: bool = False
) -> async_sessionmaker[AsyncSession]:
    """``notify``: changes queue portal notifications (``app.notifications.outbox``), read from each
    session's ``info`` so the services need no settings to know it."""
    # A session class of its own per sessionmaker, so commit hooks (the dispatcher's wake-up)
    # belong to this app and not to every session in the process.
    session_class = type("DsrSession", (Session,), {})
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=session_class,
        info={"dsr_notify": notify},
    )


def upsert_statement(session: AsyncSession, table: Any, columns: tuple[str, ...],
                     key: tuple[str, ...]) -> Any:
    """The statement that inserts a row of ``columns``, or overwrites the one with the same
    ``key`` (INSERT ... ON CONFLICT DO UPDATE): one statement, where the ORM's ``merge``
    reads the row first."""
    return _upsert_statement(session.get_bind().dialect.name, table, columns, key)


async def insert_new(
    session: AsyncSession, table: Any, values: dict[str, Any], *, key: list[str],
) -> bool:
    """Insert a row unless one with the same ``key`` exists; whether it was inserted. One
    statement, where reading first or a savepoint around a failing insert took three."""
    dialect = session.get_bind().dialect.name
    statement = _insert_new_statement(dialect, table, tuple(key))
    result: Any = await session.execute(statement, values)
    return bool(result.rowcount == 1)


def _dialect_insert(dialect: str, table: Any) -> Any:
    """The dialect's INSERT (both have ON CONFLICT)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@functools.cache
def _insert_new_statement(dialect: str, table: Any, key: tuple[str, ...]) -> Any:
    return _dialect_insert(dialect, getattr(table, "__table__", table)).on_conflict_do_nothing(
        index_elements=list(key))


@functools.cache
def _upsert_statement(dialect: str, table: Any, columns: tuple[str, ...],
                      key: tuple[str, ...]) -> Any:
    """Built once per shape (its ``excluded`` columns alone took longer than the write), on
    the table: Core, not the ORM's bulk insert, which cost more than the statement."""
    statement = _dialect_insert(dialect, getattr(table, "__table__", table))
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in columns if name not in key})


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    async with sessionmaker() as session, session.begin():
        yield session


@asynccontextmanager
async def reading(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A transaction that only reads (rolled back at the end).

    On SQLite it does not queue for the write lock: an API read (a request polled, the
    metrics scraped) no longer waits behind every dispatch write, nor holds writers up. It
    is refused any write (``PRAGMA query_only``). On PostgreSQL it is an ordinary
    transaction.
    """
    async with sessionmaker() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session
