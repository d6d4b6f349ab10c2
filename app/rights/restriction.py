"""Restriction (art. 18, and art. 19 towards the recipients), its lift (art. 18(3)), and the
policy's post-contract lock, which the service starts itself and which is not an art. 18
restriction: its letter is a notice under the privacy policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

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
from app.rights.letter import Duration, Letter, always, claim
from app.schemas import RestrictionDetails

RESTRICTING = ("restrict",)
LIFTING = "lift_restriction"
GROUNDS = ("accuracy_contested", "unlawful_processing", "no_longer_needed", "objection_pending")

always("restriction.intro", "restriction.lift_promise",
       *(f"restriction.grounds.{g}" for g in GROUNDS))


def _done_systems(facts: Facts) -> list[str]:
    return [t.system for t in facts.of(*RESTRICTING) if t.status == "done"]


def _marked(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = facts.of(*RESTRICTING)
    done = _done_systems(facts)
    if not done or any(not t.carried_out for t in tasks) or params.get("systems") != done:
        return None
    return facts.evidence(tasks)


claim("restriction.marked", "retention.locked")(_marked)


claim("restriction.nothing_held")(nothing_held(RESTRICTING))
claim("retention.lock_intro")(started_by_service)


@claim("retention.lock_then_erased")
def _then_erased(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    ended = facts.contract_ended_on()
    if not facts.request.started_by_service or ended is None \
            or params.get("date") != ended + relativedelta(months=12):
        return None
    return facts.events("created")


# -- the lift (art. 18(3)) ----------------------------------------------------------------------


def _lift_tasks(facts: Facts) -> list[Any]:
    return facts.of(LIFTING)


@claim("lift.notice")
def _lift_notice(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    lift = facts.request.lift or {}
    tasks = _lift_tasks(facts)
    if not lift or any(t.status == "done" for t in tasks):
        return None
    if params.get("date") is None or params.get("date") != _lift_from(facts):
        return None
    return facts.events("lift_requested")


@claim("lift.notice_undated")
def _lift_notice_undated(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    lift = facts.request.lift or {}
    if not lift or _lift_from(facts) is not None or params.get("period") != notice_period(facts) \
            or any(t.status == "done" for t in _lift_tasks(facts)):
        return None
    return facts.events("lift_requested")


def notice_period(facts: Facts) -> Duration:
    """The notice period the letter states (DSR_LIFT_NOTICE_S when it was built)."""
    seconds = (facts.request.lift or {}).get("notice_period_s") \
        or facts.inputs.settings.get("lift_notice_s", 259200)
    return Duration(float(seconds))


@claim("lift.lifted")
def _lifted(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = _lift_tasks(facts)
    done = [t.system for t in tasks if t.status == "done"]
    requested = facts.first_event("lift_requested")
    if not done or requested is None or any(not t.carried_out for t in tasks) \
            or params.get("systems") != done:
        return None
    finished = max(t.finished_at for t in tasks if t.finished_at)
    if params.get("date") != finished or finished < requested.at:
        return None
    return facts.events("lift_requested") + facts.evidence(tasks)


always("lift.reason_follows")


def _lift_from(facts: Facts) -> datetime | None:
    raw = (facts.request.lift or {}).get("lift_from")
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None


register_recipients("restriction", RESTRICTING)


def letter(facts: Facts) -> Letter:
    service = facts.request.started_by_service
    out = Letter(facts, "retention_lock" if service else "restriction")
    done = _done_systems(facts)
    if service:
        out.action_words = "lock"
        out.extra["notice"] = {"under": "privacy_policy",
                               "contract_ended_on": facts.details.get("contract_ended_on")}
        ended = facts.contract_ended_on()
        out.say("intro", "retention.lock_intro", ended=ended)
        out.first("outcome", ("retention.locked", {"systems": done}),
                  "restriction.nothing_held")
        if ended is not None:
            out.say("outcome", "retention.lock_then_erased",
                    date=ended + relativedelta(months=12))
    else:
        out.extra["restriction"] = {"grounds": facts.details.get("grounds")}
        out.say("intro", "restriction.intro")
        out.first("outcome", ("restriction.marked", {"systems": done}),
                  "restriction.nothing_held")
        say_recipients(out, "outcome", "restriction", RESTRICTING)
        grounds = facts.details.get("grounds")
        if grounds in GROUNDS:
            out.say("restriction", f"restriction.grounds.{grounds}")
        out.say("restriction", "restriction.lift_promise")
    if facts.request.lift:
        tasks = _lift_tasks(facts)
        if not any(t.status == "done" for t in tasks):
            out.kind = "lift_notice"  # told before anything is lifted: a notice of its own
        lifted = [t.system for t in tasks if t.status == "done"]
        finished = [t.finished_at for t in tasks if t.finished_at]
        if not (lifted and out.say("lift", "lift.lifted", systems=lifted, date=max(finished))):
            out.first("lift", ("lift.notice", {"date": _lift_from(facts)}),
                      ("lift.notice_undated", {"period": notice_period(facts)}))
        out.say("lift", "lift.reason_follows")
    say_extension(out)
    return out


RIGHT = Right(
    type=RequestType.restriction, details=RestrictionDetails, letter=letter)
