"""Scheduled work that keeps the policy's promises over time, and the job that runs it.

- **The post-contract rule** (the privacy policy: locked six months after the contract ends,
  deleted after twelve, accounting data excepted): :func:`sweep` asks the own register for
  contracts that ended before the lock date and starts a system-initiated request (channel
  ``retention``) for each customer due one: a ``restriction`` (the lock) or, twelve months on,
  an ``erasure``. They go through the same connectors, ordering, audit trail and answers as a
  customer's own. Running the sweep twice creates nothing twice (an existing request of that
  kind is found; a concurrent sweep loses on a unique key).
- **Deferred erasure** is scheduled work on the erasure's own request (``services.tasks``):
  the dispatcher claims it when due like any task.
- The sweep runs as a periodic job (:mod:`app.retention.job`, one worker of all), and in
  ``dsr retention run`` (:mod:`app.retention.run`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.connectors.capabilities import ContractSource
from app.db import unit_of_work
from app.models import (
    Channel,
    DsrRequest,
    IdempotencyKey,
    RequestStatus,
    RequestType,
)
from app.services.requests import RETENTION_ACTOR, create_system_request
from app.settings import Settings

log = logging.getLogger("app.sweep")
LOCK_GROUNDS = "retention_policy"  # not an art. 18 ground: the policy's own lock


@dataclass(frozen=True, slots=True)
class SweepItem:
    customer_number: str
    ended_on: date
    kind: RequestType
    request_id: uuid.UUID | None
    created: bool  # False: it existed already (or, in a dry run, would be created)

    def line(self, dry_run: bool) -> str:
        what = "lock (restriction)" if self.kind is RequestType.restriction else "erasure"
        if self.created:
            state = f"request {self.request_id} created"
        elif self.request_id is not None:
            state = f"already requested ({self.request_id})"
        else:
            state = "would be created" if dry_run else "skipped"
        return (f"retention: {self.customer_number} contract ended {self.ended_on}: "
                f"{what} {state}")


async def _existing(session: AsyncSession, customer: str, kind: RequestType) -> DsrRequest | None:
    """The retention request of this kind already made; for an erasure, also the customer's
    own erasure (unless it was refused or withdrawn): the data is already being erased."""
    stmt = select(DsrRequest).where(col(DsrRequest.customer_number) == customer,
                                    col(DsrRequest.type) == kind)
    if kind is RequestType.erasure:
        stmt = stmt.where(or_(
            col(DsrRequest.channel) == Channel.retention,
            col(DsrRequest.status).not_in([RequestStatus.rejected, RequestStatus.cancelled])))
    else:
        stmt = stmt.where(col(DsrRequest.channel) == Channel.retention)
    found: DsrRequest | None = (await session.scalars(
        stmt.order_by(col(DsrRequest.received_at)).limit(1))).first()
    return found


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], register: ContractSource, settings: Settings, *,
    as_of: date, dry_run: bool = False,
) -> list[SweepItem]:
    """Start the lock and erasure requests due at ``as_of`` (or list them, in a dry run)."""
    lock_before = as_of - relativedelta(months=settings.retention_lock_months)
    erase_before = as_of - relativedelta(months=settings.retention_erase_months)
    items: list[SweepItem] = []
    for customer, ended in await register.ended_contracts(before=lock_before + timedelta(days=1)):
        kind = RequestType.erasure if ended <= erase_before else RequestType.restriction
        async with unit_of_work(sessionmaker) as session:
            existing = await _existing(session, customer, kind)
            if existing is None and kind is RequestType.restriction:
                existing = await _existing(session, customer, RequestType.erasure)
            if existing is not None:
                items.append(SweepItem(customer, ended, kind, existing.id, False))
                continue
            if dry_run:
                items.append(SweepItem(customer, ended, kind, None, False))
                continue
            created = await _create_once(session, customer, kind, ended)
            items.append(SweepItem(customer, ended, kind, created.id if created else None,
                                   created is not None))
    return items


async def _create_once(
    session: AsyncSession, customer: str, kind: RequestType, ended: date
) -> DsrRequest | None:
    """The request, under a unique key so that two sweeps at once make one."""
    # The date the contract ended is what the notice to the customer rests on ("eftersom
    # ditt avtal upphörde den ..."): it is recorded on the request, as a date, not a person.
    details: dict[str, Any] = {"contract_ended_on": ended.isoformat()}
    if kind is RequestType.restriction:
        details["grounds"] = LOCK_GROUNDS
    reason = (f"the privacy policy: the contract ended on {ended}, data is "
              + ("locked after six months" if kind is RequestType.restriction
                 else "erased after twelve months, accounting data excepted"))
    try:
        async with session.begin_nested():
            request = await create_system_request(
                session, customer_number=customer, type_=kind, details=details, reason=reason)
            session.add(IdempotencyKey(scope=f"{RETENTION_ACTOR[0]}:", key=f"{kind.value}:"
                                       f"{customer}", body_sha256="0" * 64,
                                       request_id=request.id))
            await session.flush()
    except IntegrityError:
        return None
    return request
