"""The recorded facts an answer is written from: the request, each task's outcome, the audit
trail's events, the customer's links (who holds their data), and the service's own case records.

These are plain snapshots, read and decrypted by :mod:`app.answers.inputs`; nothing here does
database work. :class:`Facts` adds the questions every letter asks of them ("was identity
verified?", "did every recipient get a task that finished?", "which events show it?"), so a
guard in :mod:`app.rights.letter` reads like the sentence it allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.partners import PARTNERS

# Task statuses that mean the system carried the task out (or found nothing to do).
CARRIED_OUT = frozenset({"done", "retained", "no_data"})
Evidence = tuple[int, ...]  # the ``seq`` of the audit events a claim rests on
_SCHEDULING = frozenset({"deferred_erasure_scheduled", "task_rescheduled"})


@dataclass(frozen=True, slots=True)
class EventFact:
    seq: int
    action: str
    at: datetime
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One of the service's own records about the customer: an earlier (or this) request."""

    id: str
    type: str
    status: str
    channel: str
    received_at: datetime
    finished_at: datetime | None
    grounds: str | None = None  # an objection's or restriction's grounds, as the customer gave


@dataclass(frozen=True, slots=True)
class RequestFacts:
    id: str
    type: str
    status: str
    customer_number: str
    language: str
    received_at: datetime
    finished_at: datetime | None
    details: dict[str, Any]
    reject_reason: str | None = None
    note: str | None = None
    extension: dict[str, Any] | None = None  # {"months", "reason", "due_at"} if extended
    lift: dict[str, Any] | None = None  # {"reason", "requested_at", ...} if a lift was asked
    channel: str = "portal"
    verified: bool = True  # identity verified (art. 12(6)) before the request closed
    events: tuple[EventFact, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "status": self.status,
                "customer_number": self.customer_number, "language": self.language,
                "received_at": iso(self.received_at), "answered_at": iso(self.finished_at)}

    @property
    def started_by_service(self) -> bool:
        """The service started it under the privacy policy's retention rules."""
        return self.channel == "retention"


@dataclass(frozen=True, slots=True)
class SystemResult:
    system: str
    title: str
    key: str
    action: str
    status: str
    summary: str
    finished_at: datetime | None
    retained: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] | None = None
    uncertain: bool = False  # stopped after an attempt that may have been applied
    scheduled_for: datetime | None = None  # scheduled work: a deferred erasure
    code: str | None = None  # the outcome as a code the answer words (connectors.base.Outcome)
    params: dict[str, Any] = field(default_factory=dict)
    id: str = ""  # the task's id: its audit events carry it

    @property
    def carried_out(self) -> bool:
        return self.status in CARRIED_OUT


@dataclass(frozen=True, slots=True)
class PackageInputs:
    request: RequestFacts
    systems: list[SystemResult]
    links: dict[str, str] = field(default_factory=dict)
    case_records: list[CaseRecord] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. case_retention_days


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class Facts:
    """The questions letters ask of :class:`PackageInputs`, each with the events it rests on."""

    def __init__(self, inputs: PackageInputs) -> None:
        self.inputs = inputs
        self.request = inputs.request
        self.details = inputs.request.details
        self.tasks = list(inputs.systems)

    # -- tasks ---------------------------------------------------------------------------------

    def of(self, *actions: str, system: str | None = None) -> list[SystemResult]:
        return [t for t in self.tasks if (not actions or t.action in actions)
                and (system is None or t.system == system)]

    def task(self, action: str, system: str | None = None) -> SystemResult | None:
        found = self.of(action, system=system)
        return found[0] if found else None

    def evidence(self, tasks: Iterable[SystemResult]) -> Evidence:
        """The events that recorded these tasks' outcomes (their current status), or for
        scheduled work the events that scheduled it."""
        status_of = {t.id: t.status for t in tasks}
        seqs = set()
        for event in self.request.events:
            status = status_of.get(event.task_id or "")
            if status is None:
                continue
            if event.action == f"task_{status}" or (status == "scheduled"
                                                    and event.action in _SCHEDULING):
                seqs.add(event.seq)
        return tuple(sorted(seqs))

    def events(self, *actions: str) -> Evidence:
        return tuple(e.seq for e in self.request.events if e.action in actions)

    def first_event(self, action: str) -> EventFact | None:
        return next((e for e in self.request.events if e.action == action), None)

    # -- who holds the data --------------------------------------------------------------------

    @property
    def linked(self) -> set[str]:
        return set(self.inputs.links)

    def recipients(self, fields: Iterable[str] | None = None) -> list[str]:
        """The recipients (art. 19) that hold the customer's data: every partner system the
        customer has a link at, in the catalogue's order; with ``fields``, only those that hold
        one of them (a rectification reaches no one who never had the field)."""
        wanted = set(fields) if fields is not None else None
        return [name for name, entry in PARTNERS.items()
                if not entry.own and name in self.linked
                and (wanted is None or wanted & set(entry.holds))]

    def told(self, recipients: Iterable[str], *actions: str,
             statuses: frozenset[str] = CARRIED_OUT) -> tuple[list[str], list[str]]:
        """(told, not told): a recipient is told when a task of ``actions`` there finished
        (in one of ``statuses``)."""
        told, missing = [], []
        for system in recipients:
            if any(t.status in statuses for t in self.of(*actions, system=system)):
                told.append(system)
            else:
                missing.append(system)
        return told, missing

    # -- dates ---------------------------------------------------------------------------------

    def contract_ended_on(self) -> date | None:
        raw = self.details.get("contract_ended_on")
        try:
            return date.fromisoformat(str(raw)) if raw else None
        except ValueError:
            return None
