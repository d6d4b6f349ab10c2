"""The letters of a request that closed without its right being carried out: rejected
(art. 12(4)/(5)) or cancelled. Before identity was verified, neither says anything about the
customer's data or systems (art. 12(6)); after, each says exactly how much was done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.rights.common import say_extension, unverified
from app.rights.facts import Evidence, Facts, iso
from app.rights.letter import Letter, always, claim

REASONS = ("manifestly_unfounded", "excessive", "identity_not_verified", "other")

always("rejected.intro", "rejected.remedy", *(f"rejected.reason.{r}" for r in REASONS))


def _work(facts: Facts) -> list[Any]:
    return [t for t in facts.tasks if t.action != "erase_retained"]


@claim("closed.unverified")
def _unverified(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    if not unverified(facts) or any(t.carried_out for t in facts.tasks):
        return None
    return facts.events("created", "cancelled", "rejected", "request_cancelled",
                        "request_rejected")


@claim("cancelled.none_done")
def _none_done(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = _work(facts)
    if unverified(facts) or any(t.carried_out or t.uncertain for t in tasks):
        return None
    return facts.evidence(tasks) or facts.events("cancelled", "request_cancelled")


@claim("cancelled.all_done")
def _all_done(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = _work(facts)
    if unverified(facts) or not tasks or not all(t.carried_out for t in tasks):
        return None
    return facts.evidence(tasks)


@claim("cancelled.some_done")
def _some_done(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = _work(facts)
    done = [t for t in tasks if t.carried_out]
    if unverified(facts) or not done or len(done) == len(tasks):
        return None
    return facts.evidence(tasks)


@claim("cancelled.uncertain")
def _uncertain(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = [t for t in facts.tasks if t.uncertain]
    return facts.evidence(tasks) if tasks and not unverified(facts) else None


@claim("rejected.done_before")
def _done_before(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    done = [t for t in _work(facts) if t.carried_out]
    return facts.evidence(done) if done and not unverified(facts) else None


def cancelled(facts: Facts) -> Letter:
    out = Letter(facts, "cancelled", hide_systems=unverified(facts))
    shown = [] if out.hide_systems else _work(facts)
    out.extra["cancellation"] = {
        "explanation": facts.request.note, "decided_at": iso(facts.request.finished_at),
        "carried_out": [t.system for t in shown if t.carried_out],
        "uncertain": [t.system for t in shown if t.uncertain]}
    out.first("cancellation", "closed.unverified", "cancelled.none_done", "cancelled.all_done",
              "cancelled.some_done")
    out.say("cancellation", "cancelled.uncertain")
    say_extension(out)
    return out


IMY = "Integritetsskyddsmyndigheten (IMY), Box 8114, 104 20 Stockholm, imy@imy.se, www.imy.se"


def rejected(facts: Facts) -> Letter:
    out = Letter(facts, "rejected", hide_systems=unverified(facts))
    out.extra["rejection"] = {"reason": facts.request.reject_reason,
                              "explanation": facts.request.note,
                              "decided_at": iso(facts.request.finished_at), "complaint_to": IMY}
    out.say("intro", "rejected.intro")
    reason = facts.request.reject_reason
    if reason in REASONS:
        out.say("rejection", f"rejected.reason.{reason}")
    out.say("rejection", "rejected.remedy")
    if not out.say("outcome", "rejected.done_before"):
        out.say("rejection", "closed.unverified")
    say_extension(out)
    return out
