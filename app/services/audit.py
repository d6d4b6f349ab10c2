"""The audit trail: every transition of a request, chained by hash so it can't be quietly edited.

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's own canonical
JSON (sequence number, time, actor, action, statuses, data). Changing, deleting or reordering any
event breaks every hash after it, which :func:`verify_chain` reports. Events are written in the
same transaction as the change they record, under the request's row lock, so the chain of one
request never forks (``(request_id, seq)`` is unique as a second guard).

Event data never holds personal data: field names, reason codes and IDs, never values.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import utcnow
from app.models import AuditEvent, DsrRequest, EventAction
from app.services import recorder

GENESIS = "0" * 64


_HASHED = ("request_id", "seq", "at", "actor", "actor_role", "action", "from_status",
           "to_status", "data")


def _canonical(event: Mapping[str, Any]) -> bytes:
    body = {
        "request_id": str(event["request_id"]),
        "seq": event["seq"],
        "at": event["at"].isoformat(timespec="microseconds"),
        "actor": event["actor"],
        "actor_role": event["actor_role"],
        "action": event["action"],
        "from": event["from_status"],
        "to": event["to_status"],
        "data": event["data"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(prev_hash: str, event: AuditEvent | Mapping[str, Any]) -> str:
    """The hash of ``event`` (a stored event or a new event's row) after ``prev_hash``."""
    fields = event if isinstance(event, Mapping) else {k: getattr(event, k) for k in _HASHED}
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(fields)).hexdigest()


# Core, not the ORM: an event is only ever inserted, and an ORM object for it cost more than
# writing it (a recorder batch writes all of its events in one statement).
_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


async def record(
    session: AsyncSession, *, request: DsrRequest, actor: str, actor_role: str, action: str,
    from_status: str | None = None, to_status: str | None = None,
    data: dict[str, Any] | None = None, at: datetime | None = None,
) -> None:
    """Append one event to the request's chain (the caller holds the request's row lock).

    The request row keeps the chain's head (count and last hash), so deleting the newest events
    is detected as surely as editing an old one. ``action`` is one of :class:`EventAction`,
    the list the API publishes; a new kind of event is added there first (else ValueError).
    """
    await write(session, chain(request, actor=actor, actor_role=actor_role, action=action,
                               from_status=from_status, to_status=to_status, data=data, at=at))
    if not recorder.batching(session):
        # The change it records and the request's new head are written now too, so what the
        # caller reads next sees all three. A recorder batch reads nothing back: its events
        # go in one statement and its changes in one flush at its end.
        await session.flush()


async def write(session: AsyncSession, event: dict[str, Any]) -> None:
    """Insert an event made by :func:`chain`."""
    await recorder.insert_row(session, _INSERT_EVENT, event)


def chain(
    request: DsrRequest, *, actor: str, actor_role: str, action: str,
    from_status: str | None = None, to_status: str | None = None,
    data: dict[str, Any] | None = None, at: datetime | None = None,
) -> dict[str, Any]:
    """The request's next event, as a row: its hash chained and the request's head moved to
    it. A new request's first event is made before the request is inserted, so the request
    row goes in with its head (no second write)."""
    seq, prev = request.audit_seq + 1, request.audit_head
    event: dict[str, Any] = {
        "id": uuid.uuid4(), "request_id": request.id, "seq": seq, "at": at or utcnow(),
        "actor": actor, "actor_role": actor_role, "action": EventAction(action).value,
        "from_status": from_status, "to_status": to_status, "data": data or {},
        "prev_hash": prev,
    }
    event["hash"] = event_hash(prev, event)
    request.audit_seq, request.audit_head = seq, event["hash"]
    return event


async def list_events(session: AsyncSession, request_id: uuid.UUID) -> list[AuditEvent]:
    """The request's trail, read consistently with its chain head.

    On PostgreSQL each statement sees the data committed before it began, so an event
    committed between reading the request (its head) and reading the events made an intact
    trail look broken. The request row is read again here under a share lock (refreshing the
    session's copy of it): a change, which writes events only while holding the row, cannot
    commit until this transaction ends.
    """
    await session.execute(
        select(DsrRequest).where(col(DsrRequest.id) == request_id)
        .with_for_update(read=True).execution_options(populate_existing=True))
    rows = await session.scalars(
        select(AuditEvent)
        .where(col(AuditEvent.request_id) == request_id)
        .order_by(col(AuditEvent.seq))
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    broken_at: int | None = None
    problem: str | None = None


def verify_events(events: list[AuditEvent], *, head: str, count: int) -> ChainReport:
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainReport(False, len(events), expected_seq, "an event is missing")
        if event.prev_hash != prev:
            return ChainReport(
                False, len(events), event.seq, "the link to the previous event is broken"
            )
        if event_hash(prev, event) != event.hash:
            return ChainReport(False, len(events), event.seq, "the event was altered")
        prev = event.hash
    if len(events) != count or prev != head:
        return ChainReport(False, len(events), len(events) + 1, "events after this one are missing")
    return ChainReport(True, len(events))


async def verify_chain(session: AsyncSession, request: DsrRequest) -> ChainReport:
    """Recompute the request's chain; report the first event that does not check out."""
    events = await list_events(session, request.id)
    return verify_events(events, head=request.audit_head, count=request.audit_seq)
