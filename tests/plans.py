"""Whether a statement finds its rows through an index, read from PostgreSQL's own plan.

A test database is small, so the planner rightly scans it; with sequential scans priced out
(``enable_seqscan = off``) a statement that *can* use an index does, and one that cannot still
scans, or walks a whole index filtering each row (an index scan without an ``Index Cond``):
those are the nodes :func:`unindexed_scans` reports, the ones whose cost grows with the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

_SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def plan_of(session: AsyncSession, statement: Any,
                  params: dict[str, Any] | None = None) -> dict[str, Any]:
    """PostgreSQL's plan of the statement, with sequential scans priced out."""
    bound = statement.params(**params) if params else statement
    sql = str(bound.compile(dialect=postgresql.dialect(),
                            compile_kwargs={"literal_binds": True}))
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    (plan,) = (await session.execute(text("EXPLAIN (FORMAT JSON) " + sql))).scalar_one()
    return dict(plan["Plan"])


def indexes_used(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


async def unindexed_scans(
    session: AsyncSession, statement: Any, params: dict[str, Any] | None = None,
) -> list[str]:
    """The scans of the statement's plan that read a table (or an index) whole."""
    plan = await plan_of(session, statement, params)
    return [f"{node['Node Type']} on {node.get('Relation Name') or node.get('Index Name')}"
            for node in _nodes(plan)
            if node["Node Type"] in _SCANS and "Index Cond" not in node]
