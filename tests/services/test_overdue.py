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
