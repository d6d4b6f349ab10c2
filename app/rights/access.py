"""Access (art. 15): a copy of everything held, in every system, with the art. 15(1)
information, and the service's own case records about the customer (its earlier requests,
their grounds, how long they are kept)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.partners import PARTNERS, partner, register
from app.rights.base import Right
from app.rights.common import say_extension
from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim
from app.schemas import NoDetails

EXPORTING = ("export",)

always("access.files", "access.case_records_why")


def holders(facts: Facts) -> list[str]:
    """The recipients that hold the customer's data: those whose export found data or that
    are worked by hand, and an installation company where the register shows an order."""
    holding = {t.system for t in facts.of(*EXPORTING)
               if not partner(t.system).own and (t.data or t.status == "manual"
                                                 or partner(t.system).manual)}
    records = next((t.data for t in facts.of(*EXPORTING, system=register().name) if t.data),
                   {})
    if records.get("installation_orders"):
        # the order names the company worked by hand (the installation) it went to
        holding.update(name for name, entry in PARTNERS.items() if entry.manual)
    return [name for name in PARTNERS if name in holding]


@claim("access.intro_complete")
def _complete(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    tasks = facts.of(*EXPORTING)
    if not tasks or any(t.status not in ("done", "no_data") for t in tasks):
        return None
    return facts.evidence(tasks)


@claim("access.recipients_listed")
def _recipients(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    systems = holders(facts)
    if not systems or params.get("systems") != systems:
        return None
    return facts.evidence([t for t in facts.of(*EXPORTING) if t.system in systems
                           or partner(t.system).own])


@claim("access.recipients_none")
def _no_recipients(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    return None if holders(facts) else facts.evidence(facts.of(*EXPORTING))


@claim("access.case_records")
def _case_records(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    records = facts.inputs.case_records
    days = facts.inputs.settings.get("case_retention_days")
    if not records or params.get("count") != len(records) or params.get("days") != days:
        return None
    return facts.events("created")


def letter(facts: Facts) -> Letter:
    out = Letter(facts, "access", layout="copy")
    out.say("intro", "access.intro_complete")
    out.say("intro", "access.files")
    systems = holders(facts)
    out.first("recipients", ("access.recipients_listed", {"systems": systems}),
              "access.recipients_none")
    if out.say("case_records", "access.case_records", count=len(facts.inputs.case_records),
               days=facts.inputs.settings.get("case_retention_days")):
        out.say("case_records", "access.case_records_why")
    say_extension(out)
    return out


RIGHT = Right(
    type=RequestType.access, details=NoDetails, letter=letter)
