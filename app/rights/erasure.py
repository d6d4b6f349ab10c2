"""Erasure (art. 17, and art. 19 towards the recipients).

Erased everywhere it may be; what is kept is listed with its basis and the last day it is kept,
and that deferred erasure is scheduled work that runs the day after. Data kept because the
contract is still in force is not "kept by law". Started by the service (the policy's
twelve-month rule after a contract ended), the letter is a notice under the policy, not an
answer to a request the customer never made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.rights.base import Right
from app.rights.common import (
    nothing_held,
    register_recipients,
    say_extension,
    say_recipients,
    started_by_service,
)
from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim
from app.schemas import NoDetails

ERASING = ("erase", "unlist")
DEFERRED = "erase_retained"
# Bases under which a law (not the contract) requires data to be kept.
BY_LAW = frozenset({"bookkeeping", "legal_claim", "number_portability", "traffic_billing",
                    "limitation_period"})

always("erasure.intro")


claim("retention.erasure_intro")(started_by_service)
claim("erasure.nothing_held")(nothing_held(ERASING))


@claim("erasure.all_erased")
def _all_erased(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = facts.of(*ERASING)
    if not tasks or any(t.status not in ("done", "no_data") for t in tasks) \
            or not any(t.status == "done" for t in tasks):
        return None
    return facts.evidence(tasks)


@claim("erasure.erased_except_kept")
def _except_kept(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = facts.of(*ERASING)
    kept = [t for t in tasks if t.status == "retained"]
    if not kept or any(not t.carried_out for t in tasks):
        return None
    return facts.evidence(tasks)


@claim("erasure.kept_for_contract")
def _kept_for_contract(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = [t for t in facts.of(*ERASING)
             if any(i.get("basis_code") == "contract_in_force" for i in t.retained)]
    return facts.evidence(tasks) if tasks else None


@claim("erasure.kept_by_law")
def _kept_by_law(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = [t for t in facts.of(*ERASING)
             if any(i.get("basis_code") in BY_LAW for i in t.retained)]
    return facts.evidence(tasks) if tasks else None


@claim("erasure.scheduled")
def _scheduled(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    waiting = [t for t in facts.of(DEFERRED) if t.status == "scheduled" and t.scheduled_for]
    if not waiting or params.get("date") != min(t.scheduled_for for t in waiting
                                                if t.scheduled_for):
        return None
    return facts.evidence(waiting)


@claim("erasure.deferred_notice")
def _deferred_notice(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    """A notice of its own: a deferred erasure ran after the answer was given."""
    ran = _ran_after_answer(facts)
    if not ran or params.get("date") != max(t.finished_at for t in ran if t.finished_at):
        return None
    return facts.evidence(ran)


def _ran_after_answer(facts: Facts) -> list[Any]:
    answered = facts.request.finished_at
    return [t for t in facts.of(DEFERRED) if (t.carried_out or t.status == "scheduled")
            and t.finished_at is not None and answered is not None and t.finished_at > answered]


@claim("erasure.deferred_done")
def _deferred_done(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    ran = [t for t in facts.of(DEFERRED) if t.finished_at is not None and t.carried_out]
    if not ran or params.get("date") != max(t.finished_at for t in ran if t.finished_at):
        return None
    return facts.evidence(ran)


register_recipients("erasure", ERASING)


def letter(facts: Facts) -> Letter:
    ran_later = _ran_after_answer(facts)
    if ran_later:
        return _deferred_notice_letter(facts, ran_later)
    service = facts.request.started_by_service
    out = Letter(facts, "retention_erasure" if service else "erasure")
    if service:
        out.extra["notice"] = {"under": "privacy_policy",
                               "contract_ended_on": facts.details.get("contract_ended_on")}
    ended = facts.contract_ended_on()
    if not (service and out.say("intro", "retention.erasure_intro", ended=ended)):
        out.say("intro", "erasure.intro")
    out.first("outcome", "erasure.all_erased", "erasure.nothing_held",
              "erasure.erased_except_kept")
    say_recipients(out, "outcome", "erasure", ERASING)
    out.say("retained", "erasure.kept_for_contract")
    out.say("retained", "erasure.kept_by_law")
    ran = [t.finished_at for t in facts.of(DEFERRED) if t.finished_at and t.carried_out]
    if ran:
        out.say("scheduled", "erasure.deferred_done", date=max(ran))
    waiting = [t.scheduled_for for t in facts.of(DEFERRED)
               if t.status == "scheduled" and t.scheduled_for]
    if waiting:
        out.say("scheduled", "erasure.scheduled", date=min(waiting))
    say_extension(out)
    return out


def _deferred_notice_letter(facts: Facts, ran: list[Any]) -> Letter:
    """Years after the answer, a deferred erasure ran: a short notice in the service's voice
    (the first answer's download has long expired; its SHA-256 stays on the trail)."""
    out = Letter(facts, "deferred_erasure", show_work=False)
    out.extra["notice"] = {"under": "privacy_policy", "deferred_erasure_ran": True}
    out.say("intro", "erasure.deferred_notice", date=max(t.finished_at for t in ran))
    waiting = [t.scheduled_for for t in facts.of(DEFERRED)
               if t.status == "scheduled" and t.scheduled_for]
    if waiting:
        out.say("scheduled", "erasure.scheduled", date=min(waiting))
    return out


RIGHT = Right(
    type=RequestType.erasure, details=NoDetails, letter=letter)
