"""Leases: a claimed row carries its claimer's token and a time after which anyone may retake it.

A claim is one short transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers
never claim the same row; SQLite serialises writers anyway and ignores the clause. Each claim
has its own token: a worker that claims a row again after its lease ran out must not have the
first, late result accepted as if it were the second (:func:`held`).
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

from sqlalchemy import or_


def owner_id() -> str:
    """This worker's name in lease columns: the host and a random suffix."""
    return f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"


def token(owner: str) -> str:
    """A fresh lease token for one claim by ``owner``."""
    return f"{owner}:{uuid.uuid4().hex[:8]}"


def held(current: str | None, claimed: str) -> bool:
    """Whether the row still carries this claim's token (else its result is dropped)."""
    return current is not None and current == claimed


def free(lease_until: Any, now: Any) -> Any:
    """SQL: no lease, or one that has run out."""
    return or_(lease_until.is_(None), lease_until < now)


def skip_locked(statement: Any, *, of: Any = None) -> Any:
    """``statement`` locking its rows, skipping those another transaction holds (PostgreSQL;
    SQLite has one writer at a time and ignores it)."""
    if of is None:
        return statement.with_for_update(skip_locked=True)
    return statement.with_for_update(of=of, skip_locked=True)
