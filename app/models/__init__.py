"""The tables. UUID keys, UTC timestamps, enums stored as plain strings, explicit indexes.

The service stores as little about a customer as it can: the customer number (a pseudonymous
key), the request's own facts, and each system's pseudonymous link. Names, personnummer, e-mail
and addresses live in the systems that hold them, never here; a rectification's new values are
the one exception, and they are kept only until the request is finished.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.models.enums import (
    Channel,
    EventAction,
    Language,
    RejectReason,
    RequestStatus,
    RequestType,
    TaskAction,
    TaskStatus,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _str(length: int = 32, **kw: Any) -> Any:
    return Field(sa_type=sa.String(length), **kw)


def _enum(enum: type[StrEnum], **kw: Any) -> Any:
    """An enum stored as a plain string column (no database enum type to migrate)."""
    return Field(
        sa_type=sa.Enum(
            enum, native_enum=False, create_constraint=False, length=32,
            values_callable=lambda members: [m.value for m in members],
        ),
        **kw,
    )


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime(), **kw)


# A request not yet final (the statuses of services.lifecycle.FINAL excluded, a test holds
# the two equal), as the partial index's predicate: a query must say the same to use it.
OPEN_REQUESTS = "status NOT IN ('cancelled', 'completed', 'rejected')"


class DsrRequest(SQLModel, table=True):
    __tablename__ = "dsr_request"
    __table_args__ = (
        sa.Index("ix_dsr_request_created_at_id", "created_at", "id"),
        # a customer's requests of one type in order of receipt: the erasure before a write
        # (app.dispatch.rules) and the retention sweep's "made already?" stop at the first
        sa.Index("ix_dsr_request_customer_type_received", "customer_number", "type",
                 "received_at"),
        sa.Index("ix_dsr_request_answer_pending_finished_at", "answer_pending", "finished_at"),
        # The open requests, newest first, with their due dates: the overdue list and count
        # read only these, however many finished requests the history holds (see
        # services.lifecycle.overdue_clause).
        sa.Index("ix_dsr_request_open", "created_at", "id", "due_at",
                 postgresql_where=sa.text(OPEN_REQUESTS), sqlite_where=sa.text(OPEN_REQUESTS)),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    type: RequestType = _enum(RequestType)
    status: RequestStatus = _enum(RequestStatus, index=True)
    customer_number: str = _str(32, index=True)
    channel: Channel = _enum(Channel)
    language: Language = _enum(Language)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    identity_verification: str | None = _str(64, nullable=True)
    verified_at: datetime | None = _ts(nullable=True)
    received_at: datetime = _ts()
    due_at: datetime = _ts()
    extended_months: int = Field(default=0)
    extension_reason: str | None = Field(default=None, sa_type=sa.Text)
    # Art. 18(3): why a completed restriction was lifted, and when that was asked for.
    lift_reason: str | None = Field(default=None, sa_type=sa.Text)
    lift_requested_at: datetime | None = _ts(nullable=True)
    reject_reason: RejectReason | None = _enum(RejectReason, nullable=True)
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = _str(128)
    created_by_role: str = _str(16)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts(nullable=True)
    # Set when an agent rejects or cancels while work is at partners: the request becomes this
    # once every task already sent has its real outcome (see services.lifecycle).
    closing_as: RequestStatus | None = _enum(RequestStatus, nullable=True)
    closing_requested_at: datetime | None = _ts(nullable=True)
    # Head of the audit chain: how many events and the last one's hash (see services.audit).
    audit_seq: int = Field(default=0)
    audit_head: str = _str(64, default="0" * 64)
    # Final since its answer was last stored: the answer builders look for these (through an
    # index) instead of every final request without a package, which grew with the history.
    answer_pending: bool = Field(default=False)


# Actions that only read a partner's records: two of them for one customer need not wait for
# each other (services.dispatch, per-customer ordering).
READ_ACTIONS = frozenset({"export", "export_provided"})


class Task(SQLModel, table=True):
    __tablename__ = "task"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "system", "action"),
        sa.Index("ix_task_status_next_attempt_at", "status", "next_attempt_at"),
        # per-customer ordering: "is an earlier write at this system still open?" is one
        # index probe that stops at the first, however many tasks the customer has queued
        # (app.dispatch.rules)
        sa.Index("ix_task_customer_queue", "customer_number", "system", "writes", "status",
                 "received_at"),
        sa.Index("ix_task_ready_at", "ready_at"),
        # the tasks held back by that ordering, in order of receipt (app.dispatch.holds)
        # (SQLite uses a partial index only for a query that says its condition as written:
        # SQLAlchemy writes a boolean column there as "held = 1")
        sa.Index("ix_task_held", "customer_number", "system", "received_at", "request_id",
                 postgresql_where=sa.text("held"), sqlite_where=sa.text("held = 1")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="dsr_request.id", index=True, ondelete="CASCADE")
    system: str = _str()
    action: str = _str()
    # Copied from the request and the action when the task is made (see Task.of), so the
    # dispatcher's ordering check needs no join to find a customer's other tasks.
    customer_number: str = _str(32)
    writes: bool = Field(default=True)
    received_at: datetime = _ts(default_factory=utcnow)  # the request's, for the ordering
    # Held back by per-customer ordering (pending, off the ready index) until the task before
    # it at this system leaves the queue: see app.dispatch.holds.
    held: bool = Field(default=False)
    status: TaskStatus = _enum(TaskStatus, default=TaskStatus.pending)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _ts(nullable=True)
    lease_owner: str | None = _str(64, nullable=True)
    lease_until: datetime | None = _ts(nullable=True)
    external_ref: str | None = _str(128, nullable=True)
    # Each agent retry after a failure is a new round with a new partner-facing id
    # ("<task id>.<round>"); re-sends within a round keep theirs (see connectors.base.Call).
    dispatch_round: int = Field(default=0)
    # The pseudonymous link the task was sent with: a partner's answer must be about it.
    subject_ref: str | None = _str(128, nullable=True)
    # Since when the partner has answered nothing but 429 (None: not throttled).
    throttled_since: datetime | None = _ts(nullable=True)
    # The last attempt ended so that the partner may have applied it (a timeout, a 5xx).
    delivery_uncertain: bool = Field(default=False)
    # Scheduled work: when it falls due, and what it is about (e.g. the retained items a
    # deferred erasure is to erase, each with its date).
    scheduled_for: datetime | None = _ts(nullable=True, index=True)
    params: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    outcome: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts(nullable=True)
    # When a worker may claim the task next (None: never, as it stands): kept by
    # _keep_ready_at on every write from the fields above, so the claim walks one index in
    # order and stops at its limit instead of sorting every due task on every claim.
    ready_at: datetime | None = _ts(nullable=True)

    def next_ready_at(self) -> datetime | None:
        if self.status is TaskStatus.pending:
            return None if self.held else self.next_attempt_at or self.created_at
        if self.status is TaskStatus.running:
            return self.lease_until
        if self.status is TaskStatus.awaiting_callback:
            return self.next_attempt_at
        if self.status is TaskStatus.scheduled:
            return self.scheduled_for
        return None

    @classmethod
    def row(cls, request: DsrRequest, system: str, action: str,
            now: datetime | None = None) -> dict[str, Any]:
        """Every column of a new pending task of ``request``: what :meth:`of` makes, as a row
        for a bulk insert (intake writes a request's tasks in one statement, no objects).

        The id and times are given here, not left to the fields' default factories: pydantic
        inspects a factory's signature on every call, which took half of a task's making."""
        now = now or utcnow()
        return {
            "id": uuid.uuid4(), "request_id": request.id, "system": system, "action": action,
            "customer_number": request.customer_number, "writes": action not in READ_ACTIONS,
            "received_at": request.received_at, "held": False,
            "status": TaskStatus.pending, "attempts": 0, "next_attempt_at": None,
            "lease_owner": None, "lease_until": None, "external_ref": None, "dispatch_round": 0,
            "subject_ref": None, "throttled_since": None, "delivery_uncertain": False,
            "scheduled_for": None, "params": None, "outcome": None, "last_error": None,
            "created_at": now, "updated_at": now, "finished_at": None, "ready_at": now,
        }

    @classmethod
    def of(cls, request: DsrRequest, system: str, action: str, **values: Any) -> Task:
        """A task of ``request``: with :meth:`row`, the one way tasks are made, so the copied
        keys agree. ``values`` override the new pending task's columns."""
        return cls(**{**cls.row(request, system, action, values.pop("created_at", None)),
                      **values})


@sa.event.listens_for(Task, "before_insert")
@sa.event.listens_for(Task, "before_update")
def _keep_ready_at(_mapper: Any, _connection: Any, task: Task) -> None:
    if task.held and task.status is not TaskStatus.pending:
        task.held = False  # only a queued task is held: one that moved on is not
    task.ready_at = task.next_ready_at()


class Link(SQLModel, table=True):
    """A customer's pseudonymous key in one system (a service ID, a customer number...)."""

    __tablename__ = "link"
    __table_args__ = (sa.UniqueConstraint("customer_number", "system"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_number: str = _str(32, index=True)
    system: str = _str()
    external_id: str = _str(128)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class IdempotencyKey(SQLModel, table=True):
    """One row per (caller, Idempotency-Key): the request it created and the body's hash."""

    __tablename__ = "idempotency_key"

    scope: str = Field(sa_type=sa.String(160), primary_key=True)
    key: str = Field(sa_type=sa.String(255), primary_key=True)
    body_sha256: str = _str(64)
    request_id: uuid.UUID = Field(foreign_key="dsr_request.id", ondelete="CASCADE")
    created_at: datetime = _ts(default_factory=utcnow, index=True)


class AuditEvent(SQLModel, table=True):
    """One entry of a request's audit trail, chained to the one before it by hash."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.UniqueConstraint("request_id", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="dsr_request.id", index=True, ondelete="CASCADE")
    seq: int
    at: datetime = _ts(default_factory=utcnow)
    actor: str = _str(128)
    actor_role: str = _str(16)
    action: str = _str(64)
    from_status: str | None = _str(nullable=True)
    to_status: str | None = _str(nullable=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    prev_hash: str = _str(64)
    hash: str = _str(64)


class AuditLedger(SQLModel, table=True):
    """A checkpoint of one request's chain (its count and head), written by every transaction
    that appends to the chain; append-only, with no foreign key, so it outlives what it
    records: a deleted request or its deleted newest events no longer match it. Numbered
    without gaps (``seq``, from :class:`AuditLedgerHead`) and each MAC'd with the audit key, so
    its own entries cannot be removed, edited or forged either (see app/audit/ledger.py)."""

    __tablename__ = "audit_ledger"
    __table_args__ = (sa.Index("ix_audit_ledger_request_id_event_seq", "request_id",
                               "event_seq"),)

    seq: int = Field(sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={
        "autoincrement": False})
    request_id: uuid.UUID
    event_seq: int
    head: str = _str(64)
    at: datetime = _ts()
    mac: str = _str(64)


class AuditLedgerHead(SQLModel, table=True):
    """The ledger's one counter row: its last ``seq`` (taken under this row's lock)."""

    __tablename__ = "audit_ledger_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=sa.BigInteger, default=0)


class TaskResult(SQLModel, table=True):
    """What a system returned for an access or portability task, encrypted at rest.

    Kept apart from the task row (which the API shows) and only until the response package
    has been built and expired; see ``services.vault``.
    """

    __tablename__ = "task_result"

    task_id: uuid.UUID = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    request_id: uuid.UUID = Field(foreign_key="dsr_request.id", index=True, ondelete="CASCADE")
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = _ts(default_factory=utcnow)


class WebhookReceipt(SQLModel, table=True):
    """A partner callback already applied: its ``webhook-id`` is never applied twice."""

    __tablename__ = "webhook_receipt"

    system: str = Field(sa_type=sa.String(32), primary_key=True)
    webhook_id: str = Field(sa_type=sa.String(255), primary_key=True)
    task_id: uuid.UUID | None = Field(default=None)
    received_at: datetime = _ts(default_factory=utcnow, index=True)


class ResponsePackage(SQLModel, table=True):
    """The electronic-format response of a finished request (see ``app.answers``).

    The zip itself is stored Fernet-encrypted in :class:`ResponseChunk` rows until
    ``expires_at``; then the chunks are deleted and ``purged_at`` set, while this row stays as
    the record that a response was given and what its SHA-256 was.
    """

    __tablename__ = "response_package"
    __table_args__ = (
        # the packages not yet purged, by expiry: what the purge looks for, however many
        # purged ones the history holds (all but the last weeks' are)
        sa.Index("ix_response_package_unpurged", "expires_at",
                 postgresql_where=sa.text("purged_at IS NULL"),
                 sqlite_where=sa.text("purged_at IS NULL")),
    )

    request_id: uuid.UUID = Field(
        foreign_key="dsr_request.id", primary_key=True, ondelete="CASCADE"
    )
    sha256: str = _str(64)
    size: int = Field(sa_type=sa.BigInteger)
    chunks: int = Field(default=0)
    files: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()
    purged_at: datetime | None = _ts(nullable=True)


class ResponseChunk(SQLModel, table=True):
    """One encrypted piece (about 1 MiB of plaintext) of a stored response package."""

    __tablename__ = "response_chunk"

    request_id: uuid.UUID = Field(
        foreign_key="response_package.request_id", primary_key=True, ondelete="CASCADE"
    )
    seq: int = Field(
        primary_key=True, sa_type=sa.Integer, sa_column_kwargs={"autoincrement": False}
    )
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)


class NotificationStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # never acknowledged within the delivery window: an agent must act


class Notification(SQLModel, table=True):
    """An event for the portal backend, written in the transaction of the change it reports
    and delivered by the worker (Standard Webhooks), in order per request (see app.notifications).
    """

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_status_next_attempt_at", "status",
                               "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="dsr_request.id", index=True, ondelete="CASCADE")
    event: str = _str(64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: NotificationStatus = _enum(NotificationStatus, default=NotificationStatus.pending)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _ts(default_factory=utcnow)
    lease_until: datetime | None = _ts(nullable=True)
    last_error: str | None = _str(300, nullable=True)
    created_at: datetime = _ts(default_factory=utcnow)
    delivered_at: datetime | None = _ts(nullable=True)


class ScheduledJob(SQLModel, table=True):
    """A recurring job that exactly one worker runs when it falls due (the retention sweep)."""

    __tablename__ = "scheduled_job"

    name: str = Field(sa_type=sa.String(64), primary_key=True)
    next_run_at: datetime = _ts()
    lease_owner: str | None = _str(64, nullable=True)
    lease_until: datetime | None = _ts(nullable=True)
    last_run_at: datetime | None = _ts(nullable=True)
    last_result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class RateWindow(SQLModel, table=True):
    """A partner's rate budget shared by every process (``services.ratelimit``): the times, in
    seconds on the database's clock, of the calls admitted in the current window."""

    __tablename__ = "rate_window"

    key: str = Field(sa_type=sa.String(64), primary_key=True)
    calls: list[float] = Field(default_factory=list, sa_type=sa.JSON)


# The enums are re-exported: every module imports them from here.
__all__ = [
    "READ_ACTIONS", "AuditEvent", "AuditLedger", "AuditLedgerHead", "Channel", "DsrRequest",
    "EventAction", "IdempotencyKey", "Language", "Link", "Notification",
    "NotificationStatus", "RateWindow", "RejectReason", "RequestStatus", "RequestType",
    "ResponseChunk", "ResponsePackage", "ScheduledJob", "Task", "TaskAction",
    "TaskResult", "TaskStatus", "WebhookReceipt"
]
# The /metrics counts the triggers keep (migration 0013): last, as they name the tables above.
from app.models.counts import MetricCount, MetricCountDelta  # noqa: E402, F401
