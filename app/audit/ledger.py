"""The audit ledger: a checkpoint of every chain, written when the events are.

A chain alone shows an edit, but not its own end cut off, nor its whole deletion: the head
kept in the request row goes with the row. So every transaction that appends to chains also
appends, as its last statements before commit, one ledger row per request it touched:
``(seq, request_id, event_seq, head, at, mac)``. The ledger is append-only and has no foreign
key; ``seq`` is taken from the one-row counter :class:`~app.models.AuditLedgerHead` (one
``UPDATE … RETURNING``, under that row's lock until commit: ledger numbers never have gaps
and never repeat), and ``mac`` is HMAC-SHA256 with the ledger key over the whole row. So:

- a request's newest events deleted: a checkpoint names a later ``event_seq`` than the chain
  has, or a head it no longer has;
- a whole request deleted: checkpoints name a request that is not there (unless the retention
  purge may have deleted it: its last checkpoint is older than ``DSR_CASE_RETENTION_DAYS``);
- the checkpoints deleted as well: a gap in ``seq`` (a row cannot be renumbered, nor made,
  without the key); the newest ones: the counter is beyond the last row.

What a writer with the database but not the key can still do is roll the whole database back
to an earlier state of itself (a restore looks the same): exported, signed trails
(app/audit/export.py) are what outlives that.

Cost on the hot path: the events are not read back; per transaction, two statements (the
counter and one multi-row insert), at its end, whatever number of events it wrote.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from app.audit import keys
from app.models import AuditLedger, AuditLedgerHead

_PENDING = "dsr_audit_pending"  # session.info: [(transaction, request_id, seq, head, at)]
_LEDGER = AuditLedger.__table__  # type: ignore[attr-defined]
_HEAD = AuditLedgerHead.__table__  # type: ignore[attr-defined]
_INSERT = insert(_LEDGER)
_TAKE = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1)
         .returning(_HEAD.c.seq))


def mac(key: bytes, *, seq: int, request_id: uuid.UUID, event_seq: int, head: str,
        at: datetime) -> str:
    message = (f"{seq}|{request_id}|{event_seq}|{head}|"
               f"{at.isoformat(timespec='microseconds')}").encode()
    return hmac.new(key, message, sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    request_id: uuid.UUID
    event_seq: int
    head: str
    at: datetime
    mac: str

    def valid(self, key: bytes) -> bool:
        expected = mac(key, seq=self.seq, request_id=self.request_id,
                       event_seq=self.event_seq, head=self.head, at=self.at)
        return hmac.compare_digest(expected, self.mac)


def note(session: Session, request_id: uuid.UUID, seq: int, head: str, at: datetime) -> None:
    """Remember that this transaction moved the request's chain to ``(seq, head)``."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, request_id, seq, head, at))


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending and previous.parent is None:
        del session.info[_PENDING]
    elif pending:
        kept = [entry for entry in pending if not _within(entry[0], previous)]
        session.info[_PENDING] = kept


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (checkpointed) or not: nothing carries over
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _checkpoint(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    latest: dict[uuid.UUID, tuple[int, str, datetime]] = {}
    for _transaction, request_id, seq, head, at in session.info.pop(_PENDING):
        latest[request_id] = (seq, head, at)
    connection = session.connection()
    last = connection.execute(_TAKE.values(seq=_HEAD.c.seq + len(latest))).scalar_one_or_none()
    if last is None:  # a database emptied by hand: the counter starts after the last entry
        highest = connection.execute(select(func.coalesce(func.max(_LEDGER.c.seq), 0)))
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        # concurrent writers: one inserts it, the others wait for it and then take from it
        connection.execute(dialect.insert(_HEAD).values(id=1, seq=highest.scalar_one())
                           .on_conflict_do_nothing(index_elements=["id"]))
        last = connection.execute(_TAKE.values(seq=_HEAD.c.seq + len(latest))).scalar_one()
    key = keys.current().ledger
    rows: list[dict[str, Any]] = []
    for number, (request_id, (seq, head, at)) in enumerate(
            sorted(latest.items()), start=last - len(latest) + 1):
        rows.append({"seq": number, "request_id": request_id, "event_seq": seq, "head": head,
                     "at": at, "mac": mac(key, seq=number, request_id=request_id,
                                          event_seq=seq, head=head, at=at)})
    connection.execute(_INSERT, rows)
