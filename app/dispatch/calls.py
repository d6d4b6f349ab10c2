"""What a claimed task becomes: the claim statements, and the :class:`Call` a connector gets.

The claim walks the ``ready_at`` index in order and stops at its limit; a call carries the
customer's link (pseudonymous id) at that system, the request's details that system holds,
and the erasure it must not write after (:mod:`app.dispatch.rules`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.connectors.base import Call, ErasedBy
from app.dispatch import rules
from app.models import DsrRequest, Link, Task, TaskStatus
from app.partners import PARTNERS
from app.worker import lease


@dataclass(slots=True)
class Claimed:
    call: Call
    polling: bool  # True: the task awaits a callback and the partner is polled instead
    # This claim's own lease token: a worker that claims the same task again after its lease
    # ran out must not have the first, late answer accepted as if it were the second.
    lease: str = ""
    # The request is being closed and this task's partner cannot be asked how an attempt
    # that lost its lease went: it is recorded as cancelled with that uncertainty stated.
    abandon: bool = False


_LINKS = select(col(Link.customer_number), col(Link.system), col(Link.external_id)).where(
    col(Link.customer_number).in_(bindparam("customers", expanding=True)))


@functools.cache
def claim_statement(*, as_of: bool) -> Any:
    """The claim query, built once: building it (aliases, subqueries) cost more than running
    it. Parameters: ``now``, ``limit`` and, with ``as_of``, ``scheduled_by``; due as
    :func:`app.dispatch.rules.due` says."""
    return lease.skip_locked(
        select(Task, DsrRequest)
        .join(DsrRequest, col(DsrRequest.id) == col(Task.request_id))
        .where(rules.due(as_of=as_of))
        .where(rules.open_or_scheduled())
        .where(or_(col(Task.status) == TaskStatus.awaiting_callback, rules.not_blocked()))
        .order_by(col(Task.ready_at))
        .limit(bindparam("limit")), of=Task)


async def links(session: AsyncSession, customers: set[str]) -> dict[tuple[str, str], str]:
    if not customers:
        return {}
    rows = await session.execute(_LINKS, {"customers": sorted(customers)})
    return {(customer, system): external_id for customer, system, external_id in rows}


def link_for(task: Task, request: DsrRequest, found: dict[tuple[str, str], str]) -> str:
    entry = PARTNERS.get(task.system)
    if entry is not None and not entry.needs_link:
        return request.customer_number
    return found.get((request.customer_number, task.system), "")


def build_call(
    task: Task, request: DsrRequest, link: str, *, service_url: str,
    erased_by: ErasedBy | None = None, as_of: date | None = None,
) -> Call:
    details = request.details
    entry = PARTNERS.get(task.system)
    held = set(entry.holds) if entry else set()
    changes = {k: v for k, v in (details.get("changes") or {}).items() if k in held}
    options = {k: v for k, v in details.items() if k != "changes"}
    return Call(
        task_id=task.id, request_id=request.id, request_type=request.type,
        action=task.action, link=link, attempt=task.attempts,
        callback_url=f"{service_url}/v1/webhooks/{task.system}",
        changes=changes, options=options, external_ref=task.external_ref,
        system=task.system, dispatch_round=task.dispatch_round, erased_by=erased_by,
        resend_if_lost=request.closing_as is None, params=dict(task.params or {}),
        as_of=as_of,
    )
