"""Whether an error means the database cannot be reached just now (a restart, a network
fault), as opposed to something wrong with the statement or the data.

A restart or network fault of the database reaches the caller as any of: SQLAlchemy's
OperationalError / InterfaceError, its pool TimeoutError, a DBAPIError that invalidated the
connection (asyncpg's "connection was closed in the middle of operation"), asyncpg's own
connection errors, or a bare OSError (connection refused) from the driver's connect, which
SQLAlchemy lets through unwrapped. The API answers those 503 with Retry-After
(:mod:`app.errors.handlers`); the worker says once that the database is away and once that
it is back (:mod:`app.worker.runner`), instead of an error line per attempt.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc

_UNREACHABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,  # TimeoutError: pool
    asyncpg.exceptions.PostgresConnectionError,  # 08xxx, incl. "the database is starting up"
    asyncpg.exceptions.OperatorInterventionError,  # 57xxx: admin or crash shutdown
    asyncpg.exceptions.InterfaceError,  # incl. ConnectionDoesNotExistError
)
_DRIVER_MODULES = ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/")


def _through_driver(exc: BaseException) -> bool:
    """Whether the exception was raised inside the database driver or SQLAlchemy (so a
    bare OSError is the database's connection, not a file or another socket)."""
    return any(any(part in frame.filename for part in _DRIVER_MODULES)
               for frame in traceback.extract_tb(exc.__traceback__))


def _unreachable_itself(exc: BaseException) -> bool:
    if isinstance(exc, _UNREACHABLE):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, OSError) and _through_driver(exc)


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the database cannot be reached just now."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        elif _unreachable_itself(current):
            return True
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False




log = logging.getLogger("app.db")
_away = False  # this process's view: the last database error was an outage, not yet over


def failed(logger: logging.Logger, message: str, exc: BaseException, **extra: Any) -> None:
    """Log a background job's failure: an error line, unless the database is away, which is
    said once (a warning) until :func:`reached` hears it is back. During a restart every
    claim, every side job and every answer being recorded fails each second; one line says
    all of that."""
    global _away
    if not database_unreachable(exc):
        logger.error(message, extra={**extra, "error_type": type(exc).__name__})
        return
    if not _away:
        _away = True
        log.warning("the database cannot be reached; the worker keeps retrying",
                    extra={"error_type": type(exc).__name__})


def reached() -> None:
    """A statement went through: if the database was away, say it is back."""
    global _away
    if _away:
        _away = False
        log.info("the database can be reached again")
