"""The audit trail: every transition of a request, chained with a key so it can't be quietly edited.

Each event's ``hash`` is HMAC-SHA256, with the chain key derived from ``DSR_AUDIT_KEY``
(app/audit/keys.py, kept outside the database), over the previous event's hash and the event's
own canonical JSON (sequence number, time, actor, action, statuses, data). Changing, deleting
or reordering any event breaks every hash after it, and without the key nobody can compute
them again. Events are written in the same transaction as the change they record, under the
request's row lock, so the chain of one request never forks (``(request_id, seq)`` is unique
as a second guard). That transaction also checkpoints each chain it moved in the ledger
(app/audit/ledger.py), which makes a chain cut short, or a request deleted, show.

Event data never holds personal data: field names, reason codes and IDs, never values.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audit import keys as audit_keys
from app.audit import ledger
from app.db import utcnow
from app.models import AuditEvent, AuditLedger, DsrRequest, EventAction
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


def event_hash(prev_hash: str, event: AuditEvent | Mapping[str, Any],
               keys: audit_keys.AuditKeys | None = None) -> str:
    """The keyed hash of ``event`` (a stored event or a new event's row) after ``prev_hash``."""
    fields = event if isinstance(event, Mapping) else {k: getattr(event, k) for k in _HASHED}
    mac = (keys or audit_keys.current()).chain_mac.copy()
    mac.update(prev_hash.encode() + b"\n" + _canonical(fields))
    return mac.hexdigest()


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
    """Insert an event made by :func:`chain` (checkpointed in the ledger at commit)."""
    await recorder.insert_row(session, _INSERT_EVENT, event)
    ledger.note(session.sync_session, event["request_id"], event["seq"], event["hash"],
                event["at"])


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


async def checkpoints(session: AsyncSession, request_id: uuid.UUID) -> list[ledger.Checkpoint]:
    """The ledger's checkpoints of the request's chain, oldest first."""
    rows = await session.scalars(
        select(AuditLedger).where(col(AuditLedger.request_id) == request_id)
        .order_by(col(AuditLedger.event_seq), col(AuditLedger.seq)))
    return [ledger.Checkpoint(r.seq, r.request_id, r.event_seq, r.head, r.at, r.mac)
            for r in rows]


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    broken_at: int | None = None
    problem: str | None = None


def verify_events(
    events: list[AuditEvent], *, head: str, count: int,
    checkpoints: list[ledger.Checkpoint] | None = None,
    keys: audit_keys.AuditKeys | None = None,
) -> ChainReport:
    """Check the chain with the key, against the request's head and (given) the ledger's
    checkpoints of it."""
    keys = keys or audit_keys.current()
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainReport(False, len(events), expected_seq, "an event is missing")
        if event.prev_hash != prev:
            return ChainReport(
                False, len(events), event.seq, "the link to the previous event is broken"
            )
        if not hmac.compare_digest(event_hash(prev, event, keys), event.hash):
            return ChainReport(False, len(events), event.seq, "the event was altered")
        prev = event.hash
    if len(events) != count or prev != head:
        return ChainReport(False, len(events), len(events) + 1, "events after this one are missing")
    if checkpoints is None:
        return ChainReport(True, len(events))
    return check_checkpoints(events, checkpoints, keys)


def check_checkpoints(events: list[AuditEvent], checkpoints: list[ledger.Checkpoint],
                      keys: audit_keys.AuditKeys) -> ChainReport:
    """Whether the ledger's checkpoints of a chain (already verified) all match it and the
    newest is its end."""
    n = len(events)
    if n and not checkpoints:
        return ChainReport(False, n, n, "the ledger has no checkpoint of this trail")
    for point in checkpoints:
        if not point.valid(keys.ledger):
            return ChainReport(False, n, point.event_seq,
                               f"ledger entry {point.seq} was altered")
        if point.event_seq > n:
            return ChainReport(False, n, n + 1, f"events {n + 1}..{point.event_seq} are missing "
                               f"(ledger entry {point.seq} has {point.event_seq} events)")
        if point.event_seq < 1 or events[point.event_seq - 1].hash != point.head:
            return ChainReport(False, n, point.event_seq,
                               f"event {point.event_seq} is not the one ledger entry "
                               f"{point.seq} recorded")
    if checkpoints and checkpoints[-1].event_seq != n:
        return ChainReport(False, n, checkpoints[-1].event_seq + 1,
                           "events after the ledger's last checkpoint were added outside the "
                           "service")
    return ChainReport(True, n)


async def verify_chain(session: AsyncSession, request: DsrRequest) -> ChainReport:
    """Recompute the request's chain with the key and hold it against the ledger; report the
    first event that does not check out."""
    events = await list_events(session, request.id)
    return verify_events(events, head=request.audit_head, count=request.audit_seq,
                         checkpoints=await checkpoints(session, request.id))
