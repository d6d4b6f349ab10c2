"""The overdue list and count cost what the open requests cost, not what the history holds."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from app.db import utcnow
from app.models import OPEN_REQUESTS, DsrRequest
from app.services.lifecycle import FINAL, overdue_clause
from tests.conftest import BACKEND
from tests.plans import indexes_used, plan_of


def test_the_partial_index_leaves_out_exactly_the_final_statuses() -> None:
    listed = set(re.findall(r"'([a-z_]+)'", OPEN_REQUESTS))
    assert listed == {status.value for status in FINAL}


@pytest.mark.skipif(BACKEND != "postgresql", reason="reads PostgreSQL's plan")
async def test_the_overdue_count_and_list_read_the_open_requests_only(app) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    count = sa_select(func.count()).select_from(DsrRequest).where(overdue_clause(now))
    page = (select(DsrRequest).where(overdue_clause(now))
            .order_by(col(DsrRequest.created_at).desc(), col(DsrRequest.id).desc()).limit(51))
    for statement in (count, page):
        async with app.state.sessionmaker() as session, session.begin():
            assert indexes_used(await plan_of(session, statement)) == {"ix_dsr_request_open"}


async def test_the_open_statuses_are_written_into_the_statement_not_sent(app) -> None:  # type: ignore[no-untyped-def]
    """A partial index serves only a query that says its predicate: with the statuses sent as
    parameters SQLite scanned every request, and a generic PostgreSQL plan would too."""
    count = sa_select(func.count()).select_from(DsrRequest).where(overdue_clause(utcnow()))
    async with app.state.sessionmaker() as session:
        dialect = session.get_bind().dialect
        compiled = count.compile(dialect=dialect)
        assert OPEN_REQUESTS in str(compiled)
        if BACKEND == "sqlite":  # the plan of the statement as sent, its parameters bound
            params = [compiled.binds[name].type.bind_processor(dialect)(  # type: ignore[misc]
                compiled.params[name]) for name in compiled.positiontup or ()]
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            cursor = await raw.driver_connection.execute(  # type: ignore[union-attr]
                "EXPLAIN QUERY PLAN " + str(compiled), params)
            plan = " ".join(str(row[-1]) for row in await cursor.fetchall())
            assert "ix_dsr_request_open" in plan, plan
