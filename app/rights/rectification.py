"""Rectification (art. 16, and art. 19 towards the recipients).

A correction "passed on" to a recipient means that recipient corrected something: a system that
had no such data (after an earlier erasure, say) was asked but is not told of a correction. The
letter names the fields, never the old or the new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.partners import partner
from app.rights.base import Right
from app.rights.common import nothing_held, register_recipients, say_extension, say_recipients
from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim
from app.schemas import RectificationDetails

RECTIFYING = ("rectify",)
CORRECTED = frozenset({"done"})

always("rectification.intro")


def changed_fields(facts: Facts) -> list[str]:
    return sorted(facts.details.get("changes") or {})


@claim("rectification.corrected")
def _corrected(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    done = [t for t in facts.of(*RECTIFYING) if t.status == "done"]
    if not done or params.get("systems") != [t.system for t in done]:
        return None
    return facts.evidence(done)


claim("rectification.nothing_held")(nothing_held(RECTIFYING))


@claim("rectification.held_nothing")
def _held_nothing(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    empty = [t for t in facts.of(*RECTIFYING) if t.status == "no_data"]
    done = [t for t in facts.of(*RECTIFYING) if t.status == "done"]
    if not empty or not done or params.get("systems") != [t.system for t in empty]:
        return None
    return facts.evidence(empty)


register_recipients("rectification", RECTIFYING, changed_fields, CORRECTED)


def letter(facts: Facts) -> Letter:
    out = Letter(facts, "rectification")
    out.extra["rectification"] = {"fields": changed_fields(facts)}
    out.say("intro", "rectification.intro")
    tasks = facts.of(*RECTIFYING)
    done = [t.system for t in tasks if t.status == "done"]
    empty = [t.system for t in tasks if t.status == "no_data"]
    if not out.say("outcome", "rectification.corrected", systems=done):
        out.say("outcome", "rectification.nothing_held")
    out.say("outcome", "rectification.held_nothing", systems=empty)
    if done:
        say_recipients(out, "outcome", "rectification", RECTIFYING, changed_fields(facts),
                       CORRECTED)
    say_extension(out)
    return out


def _holds_a_change(system: str, details: Mapping[str, Any]) -> bool:
    return bool(set(details.get("changes") or {}) & set(partner(system).holds))


RIGHT = Right(
    type=RequestType.rectification, details=RectificationDetails,
    letter=letter, takes_part=_holds_a_change,
)
