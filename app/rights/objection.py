"""Objection (art. 21): to direct marketing always honoured (and the marketing consent
withdrawn); to processing on legitimate interest weighed by a person. The directory listing is
the customer's separate choice (``unlist``), and the letter speaks of it only as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.partners import DIRECTORY, register, with_role
from app.rights.base import Right, Step
from app.rights.common import say_extension
from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim
from app.schemas import ObjectionDetails

always("objection.intro", "objection.always_honoured", "objection.overridden_remedy")


def _marketing(details: Mapping[str, Any]) -> bool:
    return details.get("processing") == "direct_marketing"


@claim("objection.marketing_stopped")
def _stopped(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    task = facts.task("stop_marketing")
    return facts.evidence([task]) if task is not None and task.status == "done" else None


def _directory() -> str | None:
    """The directory listing's system (an objection to marketing may unlist the customer)."""
    entry = with_role(DIRECTORY)
    return entry.name if entry is not None else None


def _unlisting(facts: Facts) -> Any:
    directory = _directory()
    return facts.task("unlist", system=directory) if directory is not None else None


@claim("objection.unlisted")
def _unlisted(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    task = _unlisting(facts)
    return facts.evidence([task]) if task is not None and task.status == "done" else None


@claim("objection.no_listing")
def _no_listing(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    if not facts.details.get("unlist"):
        return None
    task = _unlisting(facts)
    if task is None:
        return None if _directory() in facts.linked else facts.events("created")
    return facts.evidence([task]) if task.status == "no_data" else None


@claim("objection.listing_kept")
def _listing_kept(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    if facts.details.get("unlist") or _directory() not in facts.linked \
            or _unlisting(facts) is not None:
        return None
    return facts.events("created")


def _decided(decision: str) -> Any:
    def guard(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
        task = facts.task("assess_objection")
        if task is None or task.status != "done" or task.params.get("decision") != decision:
            return None
        return facts.evidence([task])
    return guard


claim("objection.upheld")(_decided("upheld"))
claim("objection.overridden")(_decided("overridden"))


def _result(facts: Facts) -> dict[str, Any]:
    """What the objection stopped and what continues, and why (art. 21)."""
    details = facts.details
    found: dict[str, Any] = {"processing": details.get("processing")}
    if _marketing(details):
        found["unlist"] = bool(details.get("unlist"))
        found["stopped"] = [t.action for t in facts.tasks if t.status in ("done", "retained")]
        return found
    assessed = facts.task("assess_objection")
    decision = assessed.params.get("decision") if assessed else None
    found.update({
        "activity": details.get("activity"), "grounds": details.get("grounds"),
        "decision": decision, "reason": assessed.summary if assessed else None,
        "stopped": [details.get("activity")] if decision == "upheld" else [],
        "continues": [details.get("activity")] if decision == "overridden" else [],
    })
    return found


def letter(facts: Facts) -> Letter:
    out = Letter(facts, "objection")
    out.extra["objection"] = _result(facts)
    out.say("intro", "objection.intro")
    if _marketing(facts.details):
        if out.say("objection", "objection.marketing_stopped"):
            out.say("objection", "objection.always_honoured")
        out.first("objection", "objection.unlisted", "objection.no_listing",
                  "objection.listing_kept")
    else:
        out.first("objection", "objection.upheld", "objection.overridden")
        if out.has("objection.overridden"):
            out.say("objection", "objection.overridden_remedy")
    say_extension(out)
    return out


def _steps(details: Mapping[str, Any], linked: set[str]) -> list[Step]:
    own = register().name  # the register holds the marketing consent
    if _marketing(details):
        # Always honoured: marketing use stops and the marketing consent is withdrawn.
        steps: list[Step] = [(own, "stop_marketing")]
        directory = _directory()
        if details.get("unlist") and directory in linked:
            steps.append((directory, "unlist"))
        return steps
    # Art. 21(1): continuing needs compelling grounds, which only a person can weigh.
    return [(own, "assess_objection")]


def _may_add() -> tuple[Step, ...]:
    own, directory = register().name, _directory()
    return ((own, "stop_marketing"), *([(directory, "unlist")] if directory else []),
            (own, "assess_objection"))


RIGHT = Right(type=RequestType.objection, details=ObjectionDetails,
              letter=letter, extra_steps=_steps, may_add=_may_add())
