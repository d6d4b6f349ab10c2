"""the audit trail holds against a database writer: chains keyed (HMAC-SHA256 with
DSR_AUDIT_KEY) instead of plain SHA-256, and the ledger of their checkpoints

Existing chains are re-keyed here, not kept as a second, unkeyed chain version: the key is
available now (the settings this migration runs with), and an unkeyed segment would stay
recomputable by a database writer for ever, which is what this change takes away. A chain is
re-keyed only if it verifies the old way first (with its request's head): one already broken
keeps its old hashes, so it stays broken, and `dsr audit verify` names it. Every request with
events gets one ledger checkpoint of its head, so from here on its deletion shows too.

Run it with the production DSR_AUDIT_KEY in the environment (as `dsr migrate` and `dsr serve`
are): chains keyed with another key do not verify.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

_request = sa.table(
    "dsr_request", sa.column("id", sa.Uuid()), sa.column("created_at", app.db.UTCDateTime()),
    sa.column("audit_seq", sa.Integer()), sa.column("audit_head", sa.String(64)))
_event = sa.table(
    "audit_event", sa.column("id", sa.Uuid()), sa.column("request_id", sa.Uuid()),
    sa.column("seq", sa.Integer()), sa.column("at", app.db.UTCDateTime()),
    sa.column("actor", sa.String()), sa.column("actor_role", sa.String()),
    sa.column("action", sa.String()), sa.column("from_status", sa.String()),
    sa.column("to_status", sa.String()), sa.column("data", sa.JSON()),
    sa.column("prev_hash", sa.String(64)), sa.column("hash", sa.String(64)))


def _unkeyed(prev: str, event: Any) -> str:
    from app.services.audit import _canonical

    return hashlib.sha256(prev.encode() + b"\n" + _canonical(event)).hexdigest()


def _intact(events: list[Any], count: int, head: str, digest: Any) -> bool:
    prev = GENESIS
    for number, event in enumerate(events, start=1):
        if event["seq"] != number or event["prev_hash"] != prev or digest(prev, event) != \
                event["hash"]:
            return False
        prev = event["hash"]
    return len(events) == count and prev == head


def _rechain(bind: Any, *, old: Any, new: Any) -> list[tuple[Any, int, str, Any]]:
    """Chain every intact chain again with ``new``; the heads of all, as they are after."""
    heads = []
    set_hashes = (sa.update(_event).where(_event.c.id == sa.bindparam("b_id"))
                  .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")))
    requests = bind.execute(sa.select(_request.c.id, _request.c.audit_seq, _request.c.audit_head)
                            .order_by(_request.c.created_at, _request.c.id)).all()
    for request_id, count, head in requests:
        events = [dict(row) for row in bind.execute(
            sa.select(_event).where(_event.c.request_id == request_id)
            .order_by(_event.c.seq)).mappings()]
        if _intact(events, count, head, old):
            prev, changed = GENESIS, []
            for event in events:
                digest = new(prev, event)
                changed.append({"b_id": event["id"], "b_prev": prev, "b_hash": digest})
                prev = digest
            if changed:
                bind.execute(set_hashes, changed)
                bind.execute(sa.update(_request).where(_request.c.id == request_id)
                             .values(audit_head=prev))
            head = prev
        if count:
            heads.append((request_id, count, head,
                          events[-1]["at"] if events else app.db.utcnow()))
    return heads


def upgrade() -> None:
    from app.audit import keys, ledger
    from app.services.audit import event_hash

    op.create_table(
        'audit_ledger',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('request_id', sa.Uuid(), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_ledger')),
    )
    op.create_index('ix_audit_ledger_request_id_event_seq', 'audit_ledger',
                    ['request_id', 'event_seq'])
    head_table = op.create_table(
        'audit_ledger_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_ledger_head')),
    )
    audit_keys = keys.current()
    heads = _rechain(op.get_bind(), old=_unkeyed,
                     new=lambda prev, event: event_hash(prev, event, audit_keys))
    rows = [{"seq": number, "request_id": request_id, "event_seq": count, "head": head,
             "at": at, "mac": ledger.mac(audit_keys.ledger, seq=number, request_id=request_id,
                                         event_seq=count, head=head, at=at)}
            for number, (request_id, count, head, at) in enumerate(heads, start=1)]
    if rows:
        op.bulk_insert(sa.table(
            'audit_ledger', sa.column('seq', sa.BigInteger()), sa.column('request_id', sa.Uuid()),
            sa.column('event_seq', sa.Integer()), sa.column('head', sa.String()),
            sa.column('at', app.db.UTCDateTime()), sa.column('mac', sa.String())), rows)
    op.bulk_insert(head_table, [{"id": 1, "seq": len(rows)}])


def downgrade() -> None:
    from app.audit import keys
    from app.services.audit import event_hash

    audit_keys = keys.current()
    _rechain(op.get_bind(), old=lambda prev, event: event_hash(prev, event, audit_keys),
             new=_unkeyed)
    op.drop_table('audit_ledger_head')
    op.drop_index('ix_audit_ledger_request_id_event_seq', table_name='audit_ledger')
    op.drop_table('audit_ledger')
