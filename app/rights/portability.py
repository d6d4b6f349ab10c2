"""Portability (art. 20): the data the customer provided, as JSON and CSV; with a receiving
operator, the number port through the number-portability registry, and what was (and was not)
sent to that operator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.partners import PORTING as PORTING_ROLE
from app.partners import with_role
from app.rights.base import Right, Step
from app.rights.common import say_extension
from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim
from app.schemas import PortabilityDetails

PORTING = "port_number"

always("portability.csv")


@claim("portability.intro")
def _provided(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = facts.of("export_provided")
    if not tasks or any(t.status not in ("done", "no_data") for t in tasks):
        return None
    return facts.evidence(tasks)


def _operator(facts: Facts) -> str | None:
    operator = facts.details.get("receiving_operator")
    return str(operator) if operator else None


def _registry() -> str | None:
    """The number-portability registry's system, which books a port."""
    entry = with_role(PORTING_ROLE)
    return entry.name if entry is not None else None


def _port(facts: Facts) -> Any:
    registry = _registry()
    return facts.task(PORTING, system=registry) if registry is not None else None


def _number(facts: Facts) -> str | None:
    """The number to port: the customer's link at the registry (their phone number)."""
    registry = _registry()
    return facts.inputs.links.get(registry) if registry is not None else None


@claim("portability.porting_approved", "portability.ends_subscription")
def _approved(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    task = _port(facts)
    if task is None or task.status != "done" or params.get("operator") != _operator(facts) \
            or params.get("number") != _number(facts):
        return None
    return facts.evidence([task])


def port_date(facts: Facts) -> str | None:
    """The day the port is authorised from, as the registry answered it
    (``booked_port.date``)."""
    task = _port(facts)
    booked = ((task.data or {}).get("booked_port") if task is not None else None) or {}
    when = booked.get("date") if isinstance(booked, dict) else None
    return str(when)[:10] if isinstance(when, str) and when else None


@claim("portability.porting_from")
def _porting_from(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    task = _port(facts)
    if task is None or task.status != "done" or params.get("date") is None \
            or params.get("date") != port_date(facts):
        return None
    return facts.evidence([task])


@claim("portability.porting_not_done")
def _not_done(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    task = _port(facts)
    if task is None or task.status == "done" or params.get("operator") != _operator(facts):
        return None
    return facts.evidence([task]) or facts.events("created")


@claim("portability.no_number")
def _no_number(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    if _operator(facts) is None or _port(facts) is not None or _registry() in facts.linked:
        return None
    return facts.events("created")


@claim("portability.sent_to_snpac_only")
def _sent(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    """Art. 20(2): what went where. The registry got the number and the operator's name;
    nothing of this package was sent to the receiving operator."""
    task = _port(facts)
    if task is None or params.get("operator") != _operator(facts):
        return None
    return facts.evidence([task]) or facts.events("created")


def letter(facts: Facts) -> Letter:
    out = Letter(facts, "portability", layout="datasets")
    out.say("intro", "portability.intro")
    out.say("intro", "portability.csv")
    operator = _operator(facts)
    if operator:
        number = _number(facts)
        out.first("porting", ("portability.porting_approved",
                              {"operator": operator, "number": number}),
                  ("portability.porting_not_done", {"operator": operator}),
                  "portability.no_number")
        out.say("porting", "portability.porting_from", date=port_date(facts))
        out.say("porting", "portability.sent_to_snpac_only", operator=operator)
        out.say("porting", "portability.ends_subscription", operator=operator, number=number)
    say_extension(out)
    return out


def _steps(details: Mapping[str, Any], linked: set[str]) -> list[Step]:
    registry = _registry()
    return [(registry, PORTING)] if details.get("receiving_operator") and registry in linked \
        else []


_REGISTRY = _registry()
RIGHT = Right(type=RequestType.portability, details=PortabilityDetails,
              letter=letter, extra_steps=_steps,
              may_add=((_REGISTRY, PORTING),) if _REGISTRY else ())
