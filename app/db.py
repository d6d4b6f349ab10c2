"""Database engine, session dependency and the column types every table shares.

The session dependency owns the transaction: services ``flush()``, the dependency commits when
the route returns and rolls back when it raises. The worker opens its own session per unit of
work with :func:`unit_of_work`.

SQLite is the embedded default. It is put in WAL mode and every transaction starts with
``BEGIN IMMEDIATE``: SQLite has one writer at a time anyway, and taking the write lock up front
means two transactions never read the same snapshot and then collide on upgrade (which SQLite
reports as an immediate "database is locked" instead of waiting).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

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

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, echo=echo)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        database_url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10
    )


def create_sessionmaker(
    engine: AsyncEngine, *, notify: bool = False
) -> async_sessionmaker[AsyncSession]:
    """``notify``: changes queue portal notifications (``services.notify``), read from each
    session's ``info`` so the services need no settings to know it."""
    # A session class of its own per sessionmaker, so commit hooks (the dispatcher's wake-up)
    # belong to this app and not to every session in the process.
    session_class = type("DsrSession", (Session,), {})
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=session_class,
        info={"dsr_notify": notify},
    )


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    async with sessionmaker() as session, session.begin():
        yield session
