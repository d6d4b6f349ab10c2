"""Guards and sentences more than one right uses: art. 19 (who was told), the extension, the
outcome of a set of tasks. Each guard checks the parameters it is asked to render against the
facts too, so a letter cannot pass a wrong list of names or a wrong number."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.rights.facts import CARRIED_OUT, Evidence, Facts, SystemResult
from app.rights.letter import Guard, Letter, claim

FieldsOf = Callable[[Facts], Sequence[str] | None]


def _all_fields(_facts: Facts) -> None:
    return None


def recipients_told(actions: tuple[str, ...], fields_of: FieldsOf = _all_fields,
                    statuses: frozenset[str] = CARRIED_OUT) -> tuple[Guard, Guard, Guard]:
    """Three guards for art. 19: every recipient told; only some (naming both sides); no
    recipient holds the data. A recipient is told when a task of ``actions`` ended there in
    one of ``statuses`` (a rectification counts only a system that corrected something)."""

    def split(facts: Facts) -> tuple[list[str], list[str], list[SystemResult]]:
        recipients = facts.recipients(fields_of(facts))
        told, missing = facts.told(recipients, *actions, statuses=statuses)
        tasks = [t for system in told for t in facts.of(*actions, system=system)
                 if t.status in statuses]
        return told, missing, tasks

    def every(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
        told, missing, tasks = split(facts)
        if not told or missing or list(params.get("systems", [])) != told:
            return None
        return facts.evidence(tasks)

    def some(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
        told, missing, tasks = split(facts)
        if not missing or list(params.get("told", [])) != told \
                or list(params.get("not_told", [])) != missing:
            return None
        return facts.evidence(tasks) or facts.events("created")

    def nobody(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
        return None if facts.recipients(fields_of(facts)) else facts.events("created")

    return every, some, nobody


def say_recipients(letter: Letter, section: str, prefix: str, actions: tuple[str, ...],
                   fields: Sequence[str] | None = None,
                   statuses: frozenset[str] = CARRIED_OUT) -> None:
    """Offer the three art. 19 sentences ``<prefix>.told_all | told_some | no_recipients``."""
    facts = letter.facts
    recipients = facts.recipients(fields)
    told, missing = facts.told(recipients, *actions, statuses=statuses)
    letter.first(section, (f"{prefix}.told_all", {"systems": told}),
                 (f"{prefix}.told_some", {"told": told, "not_told": missing}),
                 f"{prefix}.no_recipients")


def register_recipients(prefix: str, actions: tuple[str, ...],
                        fields_of: FieldsOf = _all_fields,
                        statuses: frozenset[str] = CARRIED_OUT) -> None:
    every, some, nobody = recipients_told(actions, fields_of, statuses)
    claim(f"{prefix}.told_all")(every)
    claim(f"{prefix}.told_some")(some)
    claim(f"{prefix}.no_recipients")(nobody)


def nothing_held(actions: tuple[str, ...]) -> Guard:
    """A guard: every task of ``actions`` found no data (nothing was there to act on)."""

    def guard(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
        tasks = facts.of(*actions)
        if not tasks or any(t.status != "no_data" for t in tasks):
            return None
        return facts.evidence(tasks)
    return guard


def started_by_service(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    """The service started the request under the policy, after a contract that ended on
    ``params["ended"]``."""
    ended = facts.contract_ended_on()
    if not facts.request.started_by_service or ended is None or params.get("ended") != ended:
        return None
    return facts.events("created")


# -- the extension (art. 12(3)) ------------------------------------------------------------------


@claim("extension.text")
def _extended(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    extension = facts.request.extension
    if not extension or params.get("months") != extension.get("months"):
        return None
    return facts.events("extended")


def say_extension(letter: Letter) -> None:
    extension = letter.facts.request.extension
    if extension:
        letter.say("extension", "extension.text", months=extension["months"])


# -- identity (art. 12(6)) -----------------------------------------------------------------------


def unverified(facts: Facts) -> bool:
    """Identity was never verified: the answer reveals nothing about the customer's data."""
    return not facts.request.verified
