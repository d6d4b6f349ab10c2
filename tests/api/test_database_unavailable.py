"""The database out of reach is answered 503 with a problem body and Retry-After, wherever in
the call it shows (a dependency opening the session, the commit in its teardown, a refused
connection), and never with SQL or data; anything else unexpected stays a 500."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import create_engine, create_sessionmaker
from app.deps import get_read_session, get_session
from app.errors import (
    DATABASE_RETRY_AFTER_S,
    PROBLEM_BASE,
    PROBLEM_JSON,
    database_unreachable,
)
from tests.e2e.service import free_port

SECRET_SQL = "SELECT personnummer FROM dsr_request WHERE personnummer = '19850412-9803'"
A_REQUEST = "/v1/requests/00000000-0000-4000-8000-000000000001"


def assert_database_unavailable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == str(DATABASE_RETRY_AFTER_S)
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_BASE + "database-unavailable"
    assert body["status"] == 503 and body["title"] and body["detail"]
    assert "19850412" not in response.text and "SELECT" not in response.text
    return body


async def test_a_dependency_that_cannot_reach_the_database_is_a_503(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    async def unreachable() -> AsyncIterator[AsyncSession]:
        raise OperationalError(SECRET_SQL, {"pnr": "19850412-9803"},
                               ConnectionRefusedError("connection refused"))
        yield  # pragma: no cover - a generator, as the real dependency is

    app.dependency_overrides[get_read_session] = unreachable
    with caplog.at_level(logging.INFO):
        response = await client.get(A_REQUEST, headers={**auth("agent"),
                                                        "X-Request-ID": "req-db-down-1"})
    assert_database_unavailable(response)
    lines = [r for r in caplog.records if r.name == "app.errors"]
    assert [(r.getMessage(), getattr(r, "error_type", None), getattr(r, "request_id", None))
            for r in lines] == [("database unreachable", "OperationalError", "req-db-down-1")]
    assert "19850412" not in caplog.text and "SELECT" not in caplog.text


async def test_a_commit_lost_with_the_connection_is_a_503(
    app: FastAPI, client: httpx.AsyncClient, auth: Any,
) -> None:
    async def commit_fails(request: Request) -> AsyncIterator[AsyncSession]:
        async with request.app.state.sessionmaker() as session:
            yield session  # the route's work is flushed; the commit then finds no connection
            raise DBAPIError("COMMIT", None, asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"), connection_invalidated=True)

    app.dependency_overrides[get_session] = commit_fails
    response = await client.post("/v1/requests", json={"type": "access"},
                                 headers=auth("portal", "C-1001"))
    assert_database_unavailable(response)


async def test_a_refused_connection_is_a_503_and_readyz_says_so(
    app: FastAPI, client: httpx.AsyncClient, auth: Any,
) -> None:
    # A PostgreSQL that is not there: asyncpg's connect raises a bare ConnectionRefusedError.
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    kept = app.state.sessionmaker, app.state.engine
    app.state.sessionmaker, app.state.engine = create_sessionmaker(engine), engine
    try:
        assert_database_unavailable(await client.get(A_REQUEST, headers=auth("agent")))
        assert_database_unavailable(await client.get("/v1/requests", headers=auth("agent")))
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
        assert ready.headers["retry-after"] == str(DATABASE_RETRY_AFTER_S)
    finally:
        app.state.sessionmaker, app.state.engine = kept
        await engine.dispose()


async def test_other_unexpected_errors_stay_500(
    app: FastAPI, client: httpx.AsyncClient, auth: Any,
) -> None:
    async def broken() -> AsyncIterator[AsyncSession]:
        raise IntegrityError(SECRET_SQL, None, ValueError("duplicate key"))
        yield  # pragma: no cover

    app.dependency_overrides[get_read_session] = broken
    response = await client.get(A_REQUEST, headers=auth("agent"))
    assert response.status_code == 500
    assert response.json()["type"] == PROBLEM_BASE + "internal-error"
    assert "retry-after" not in response.headers and "SELECT" not in response.text


def test_what_counts_as_the_database_out_of_reach() -> None:
    refused = OperationalError("SELECT 1", None, ConnectionRefusedError())
    assert database_unreachable(refused)
    assert database_unreachable(ExceptionGroup("tasks", [ValueError(), refused]))
    assert database_unreachable(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert database_unreachable(asyncpg.exceptions.AdminShutdownError("shutting down"))
    wrapped = RuntimeError("while handling")
    wrapped.__cause__ = refused
    assert database_unreachable(wrapped)
    # A bare OSError counts only when it comes from the driver (a refused connect does).
    assert not database_unreachable(ConnectionRefusedError("a partner, not the database"))
    assert not database_unreachable(DBAPIError("SELECT 1", None, ValueError()))
    assert not database_unreachable(IntegrityError("INSERT", None, ValueError()))
    assert not database_unreachable(KeyError("x"))
