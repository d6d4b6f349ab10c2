"""Reading requests: one the caller may see, the tasks of several, and the list page by page.

A portal token sees its own customer's requests only; anyone else's is simply not found. The
list is keyset-paginated on (created_at, id), so pages never skip or repeat.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import Principal, Role
from app.db import utcnow
from app.errors import InvalidCursor, NotFound
from app.models import DsrRequest, RequestStatus, RequestType, Task
from app.services import lifecycle

# The reads behind every poll of a request, built once: building the statements and their cache
# keys was a quarter of a GET's CPU time (5.4 ms in all).
_REQUEST = select(DsrRequest).where(col(DsrRequest.id) == bindparam("id"))
_OWN_REQUEST = _REQUEST.where(col(DsrRequest.customer_number) == bindparam("customer"))
_REQUEST_STATEMENTS = {  # (a portal's own only, row-locked)
    (own, locked): statement.with_for_update() if locked else statement
    for own, statement in ((False, _REQUEST), (True, _OWN_REQUEST)) for locked in (False, True)}
_TASKS_OF = (select(Task).where(col(Task.request_id).in_(bindparam("ids", expanding=True)))
             .order_by(col(Task.system), col(Task.action)))


async def get_request(
    session: AsyncSession, *, request_id: uuid.UUID, principal: Principal,
    for_update: bool = False,
) -> DsrRequest:
    """Load a request the principal may see; anyone else's is simply not found."""
    own = principal.role is Role.portal
    params: dict[str, Any] = {"id": request_id}
    if own:
        params["customer"] = principal.customer_number
    request = (await session.scalars(_REQUEST_STATEMENTS[own, for_update], params)).first()
    if request is None:
        raise NotFound("No such request.")
    return request


async def tasks_for(
    session: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Task]]:
    grouped: dict[uuid.UUID, list[Task]] = {rid: [] for rid in request_ids}
    if not request_ids:
        return grouped
    rows = await session.scalars(_TASKS_OF, {"ids": request_ids})
    for task in rows:
        grouped[task.request_id].append(task)
    return grouped


@dataclass(frozen=True, slots=True)
class ListFilter:
    status: RequestStatus | None = None
    type: RequestType | None = None
    customer_number: str | None = None
    overdue: bool | None = None


def _encode_cursor(request: DsrRequest) -> str:
    raw = json.dumps({"c": request.created_at.isoformat(), "i": str(request.id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a cursor of :func:`_encode_cursor` holds; anything else, including a
    forged one with a date only or a time without a zone, is ``InvalidCursor`` (400)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created = datetime.fromisoformat(raw["c"])
        if "T" not in raw["c"] or created.tzinfo is None:
            raise ValueError("not a timestamp with a zone")
        return created.astimezone(UTC), uuid.UUID(raw["i"])
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, binascii.Error):
        raise InvalidCursor("The cursor is not one this service issued.") from None


async def list_requests(
    session: AsyncSession, *, principal: Principal, filters: ListFilter, limit: int,
    cursor: str | None = None,
) -> tuple[list[DsrRequest], str | None]:
    """Newest first, keyset-paginated on (created_at, id) so pages never skip or repeat."""
    stmt = select(DsrRequest)
    customer = filters.customer_number
    if principal.role is Role.portal:
        if customer not in (None, principal.customer_number):
            return [], None
        customer = principal.customer_number
    if customer:
        stmt = stmt.where(col(DsrRequest.customer_number) == customer)
    if filters.status:
        stmt = stmt.where(col(DsrRequest.status) == filters.status)
    if filters.type:
        stmt = stmt.where(col(DsrRequest.type) == filters.type)
    if filters.overdue is not None:
        clause = lifecycle.overdue_clause(utcnow())
        stmt = stmt.where(clause if filters.overdue else ~clause)
    if cursor:
        created, rid = _decode_cursor(cursor)
        # a row comparison: the index walk starts at the cursor (an OR of the two was a
        # filter, and a page 2,000 rows deep walked past every newer row first)
        stmt = stmt.where(tuple_(col(DsrRequest.created_at), col(DsrRequest.id))
                          < (created, rid))  # a Python tuple takes the columns' types
    stmt = stmt.order_by(
        col(DsrRequest.created_at).desc(), col(DsrRequest.id).desc()
    ).limit(limit + 1)
    rows = list(await session.scalars(stmt))
    page, more = rows[:limit], len(rows) > limit
    return page, (_encode_cursor(page[-1]) if more and page else None)
