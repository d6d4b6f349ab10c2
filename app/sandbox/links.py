"""The service's links for the synthetic sandbox customers, written in bulk.

Registering links one by one (a lookup and an insert each) takes minutes for ten thousand
customers; :func:`register_links` writes them in multi-row inserts that leave a link already
there as it is, so registering again at every start is cheap and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import utcnow
from app.models import Link
from app.partners import PARTNERS

CHUNK = 1000  # rows per INSERT: far below either database's limit on bound parameters


async def register_links(
    db: AsyncSession | AsyncConnection, links: Mapping[str, Mapping[str, str]]
) -> int:
    """Insert the links (customer -> system -> external id) missing from the ``link`` table,
    for the systems that are keyed by a link; returns the rows offered."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"id": uuid.uuid4(), "customer_number": customer, "system": system,
         "external_id": external_id, "created_at": now, "updated_at": now}
        for customer, systems in links.items()
        for system, external_id in systems.items()
        if PARTNERS[system].needs_link
    ]
    connection = await db.connection() if isinstance(db, AsyncSession) else db
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table: Table = Link.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), CHUNK):
        statement = insert(table).on_conflict_do_nothing(
            index_elements=["customer_number", "system"])
        await db.execute(statement, rows[start:start + CHUNK])
    return len(rows)
