"""What a connector is given and what it returns: the :class:`Call` and the :class:`Outcome`.

A :class:`Call` holds the pseudonymous link for the partner's system, never the customer's
personal data; an :class:`Outcome` is what happened there, with what was kept back
(:class:`Retained`) and why. The helpers at the end make the usual outcomes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.models import RequestType, TaskStatus


@dataclass(frozen=True, slots=True)
class Call:
    """One task, as a connector sees it: identifiers and what to do, no personal data."""

    task_id: uuid.UUID
    request_id: uuid.UUID
    request_type: RequestType
    action: str
    link: str  # the customer's pseudonymous key in this system
    callback_url: str
    attempt: int = 1
    # A rectification's new values, already narrowed to the fields this system holds.
    changes: dict[str, str] = field(default_factory=dict)
    # Type-specific options: grounds, processing, receiving_operator, formats.
    options: dict[str, Any] = field(default_factory=dict)
    external_ref: str | None = None  # the partner's reference, once it has one
    system: str = ""
    # Which round of the task this is: 0 at first, +1 for each agent retry after a failure.
    dispatch_round: int = 0
    # An earlier erasure at this system for the same customer, if there was one: the
    # connector must not write personal data back (see :class:`ErasedBy`).
    erased_by: ErasedBy | None = None
    # False while the request is being cancelled or rejected: a partner that lost the job is
    # not sent it again, and answers "never received" instead.
    resend_if_lost: bool = True
    # Scheduled work's own parameters (a deferred erasure: the retained items and their dates).
    params: dict[str, Any] = field(default_factory=dict)
    # Set only by ``dsr retention run --as-of`` outside production: the date the run acts as
    # of, sent to sandbox partners as ``Sandbox-As-Of`` so they judge retention periods by it.
    as_of: date | None = None

    @property
    def partner_ref(self) -> str:
        """The id the partner knows this attempt by (its ``Idempotency-Key`` and
        ``subject_request_id``): the task id, with ``.<round>`` after an agent's retry, so a
        partner that answers a repeated id with its first answer still gets the retry."""
        return format_partner_ref(self.task_id, self.dispatch_round)

    @property
    def idempotency_key(self) -> str:
        return self.partner_ref


def format_partner_ref(task_id: uuid.UUID, dispatch_round: int) -> str:
    return str(task_id) if dispatch_round == 0 else f"{task_id}.{dispatch_round}"


def parse_partner_ref(value: Any) -> tuple[uuid.UUID, int] | None:
    """``"<uuid>"`` or ``"<uuid>.<round>"`` as (task id, round); None if it is neither."""
    if not isinstance(value, str) or len(value) > 48:
        return None
    head, dot, tail = value.partition(".")
    if dot and not (tail.isascii() and tail.isdigit() and 0 < len(tail) <= 6):
        return None
    try:
        task_id = uuid.UUID(head)
    except ValueError:
        return None
    if str(task_id) != head.lower():
        return None
    return task_id, (int(tail) if dot else 0)


@dataclass(frozen=True, slots=True)
class ErasedBy:
    """An erasure request that reached this system before the current request did."""

    request_id: uuid.UUID
    on: str  # ISO date the erasure finished there
    status: TaskStatus  # done (all erased) or retained (some kept by law)

    def summary(self) -> str:
        return f"Erased on {self.on} by request {self.request_id}"

    def outcome(self, text: str) -> Outcome:
        """``no_data`` for a write that would bring erased data back: nothing is written."""
        return Outcome(TaskStatus.no_data, f"{self.summary()}: {text}", code="erased_earlier",
                       params={"on": self.on, "request_id": str(self.request_id)})


@dataclass(frozen=True, slots=True)
class Retained:
    """Data kept back from erasure, with the law that requires it and when it goes."""

    category: str
    basis: str
    until: str | None  # ISO date; None = no date yet (while the contract runs, until paid)
    code: str | None = None  # what is kept, as a code the answer words (e.g. "invoices")
    basis_code: str | None = None  # the policy file's legal basis (e.g. "bookkeeping")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"category": self.category, "basis": self.basis,
                                "until": self.until}
        if self.code:
            body["code"] = self.code
        if self.basis_code:
            body["basis_code"] = self.basis_code
        return body


# The dates accepted for ``Retained.until``, from a partner or an agent: not before the day the
# request was received (a period already over is data that should be gone, not data kept) and
# not after LATEST_UNTIL. The longest period the service knows is Bokföringslagen's seven years
# after the fiscal year; 2100-12-31 leaves decades of room for any other law while refusing
# the impossible (9999-12-31, whose following day, when the deferred erasure is due, does not
# exist). A date outside the range is refused where it comes in: 422 for an agent; for a
# partner, the task fails with a reason saying so and nothing of the answer is kept.
LATEST_UNTIL = date(2100, 12, 31)


def until_problem(until: str | None, *, received: date | None = None) -> str | None:
    """Why a retained item's ``until`` is not accepted, or None if it is (null: no date yet).

    The reason names neither the value nor the item: a partner's date may be anything."""
    if until is None:
        return None
    try:
        day = date.fromisoformat(until)
    except (TypeError, ValueError):
        return "is not an ISO date (YYYY-MM-DD)"
    if day > LATEST_UNTIL:
        return f"is after {LATEST_UNTIL.isoformat()}, the latest date accepted"
    if received is not None and day < received:
        return f"is before the request was received ({received.isoformat()})"
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    status: TaskStatus
    summary: str = ""
    data: dict[str, Any] | None = None  # access/portability data: stored encrypted, apart
    retained: tuple[Retained, ...] = ()
    ref: str | None = None  # partner reference while awaiting its callback
    # The subject the partner says it answered about (its pseudonymous key); checked against
    # the link the task was sent with before anything of the answer is stored.
    subject: str | None = None
    # Cancelled after an attempt that may have reached the partner: whether it was applied
    # there is not known (the customer's answer says so).
    uncertain: bool = False
    # What happened as a code and parameters (ids, counts, dates, categories), which the
    # customer's answer words in Swedish or English; ``summary`` is the English log line.
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """What may be shown in the API and stored in the task row: no personal data."""
        body: dict[str, Any] = {"summary": self.summary}
        if self.code:
            body["code"], body["params"] = self.code, dict(self.params)
        if self.uncertain:
            body["uncertain"] = True
        if self.retained:
            body["retained"] = [item.as_dict() for item in self.retained]
        if self.data is not None:
            body["data_categories"] = sorted(self.data)
        return body


def done(summary: str, data: dict[str, Any] | None = None) -> Outcome:
    return Outcome(TaskStatus.done, summary, data)


def no_data(summary: str = "The system holds no data about the customer.") -> Outcome:
    return Outcome(TaskStatus.no_data, summary)


def retained(
    summary: str, items: Iterable[Retained], data: dict[str, Any] | None = None
) -> Outcome:
    return Outcome(TaskStatus.retained, summary, data, tuple(items))


def awaiting_callback(
    ref: str, summary: str = "Sent; waiting for the partner's answer."
) -> Outcome:
    return Outcome(TaskStatus.awaiting_callback, summary, ref=ref)


def manual(summary: str) -> Outcome:
    return Outcome(TaskStatus.manual, summary)
