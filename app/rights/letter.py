"""Letters whose sentences are true by construction.

Every sentence a letter can say has a key (its text is ``letter.<key>`` in
``app/templates/i18n/{sv,en}.json``) and exactly one **guard**: a function of the recorded
:class:`~app.rights.facts.Facts` that returns the audit events the sentence rests on, or
``None`` when the facts do not make it true. A letter never writes text itself; it offers
sentences (:meth:`Letter.say`, :meth:`Letter.first`) and the guard decides. A sentence whose
guard says no is not rendered, whatever the letter's own logic thought, so a letter cannot say
"erased", "told every recipient" or "the listing was removed" unless the tasks say so.

Informative sentences (the right to complain, how a restriction works) are registered with
:func:`always`; they claim nothing about what the systems did.

Each rendered claim carries its evidence into ``result.json`` / ``data.json`` (``claims``:
the sentence's key and the ``seq`` of the audit events it rests on), so an auditor can trace any
sentence to the trail, and ``dsr audit verify`` can check that those events exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.answers.report import SWEDEN, phone
from app.rights.facts import Evidence, Facts

Guard = Callable[[Facts, Mapping[str, Any]], Evidence | None]
GUARDS: dict[str, Guard] = {}
CLAIMING: set[str] = set()  # keys whose guard reads the facts (not registered by always())


def claim(*keys: str) -> Callable[[Guard], Guard]:
    """Register ``guard`` as the one guard of the sentences ``keys``."""
    def register(guard: Guard) -> Guard:
        for key in keys:
            if key in GUARDS:
                raise ValueError(f"sentence {key!r} has a guard already")
            GUARDS[key] = guard
            CLAIMING.add(key)
        return guard
    return register


def always(*keys: str) -> None:
    """Sentences that state no fact about what was done (rights, how things work)."""
    for key in keys:
        if key in GUARDS:
            raise ValueError(f"sentence {key!r} has a guard already")
        GUARDS[key] = _always


def _always(_facts: Facts, _params: Mapping[str, Any]) -> Evidence:
    return ()


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time a letter states, in the largest unit that divides it exactly."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Said:
    section: str
    key: str
    params: dict[str, Any]
    evidence: Evidence


@dataclass
class Letter:
    """The sentences of one answer, by section, each with its evidence."""

    facts: Facts
    kind: str  # the title and articles to use: a request type, a closing or a notice
    said: list[Said] = field(default_factory=list)
    hide_systems: bool = False  # art. 12(6): nothing about the customer's systems is shown
    # How the answer is laid out: "copy" (art. 15: every system's data), "datasets" (art. 20:
    # files to take along) or "outcome" (what each system did, and what is kept).
    layout: str = "outcome"
    show_work: bool = True  # the table of what each system did (a notice may leave it out)
    action_words: str | None = None  # "lock": the policy's lock, not words of art. 18
    # The right's own parts of result.json (and the report), e.g. the fields a
    # rectification concerned; written beside the claims.
    extra: dict[str, Any] = field(default_factory=dict)

    def say(self, section: str, key: str, **params: Any) -> bool:
        """Add the sentence if its guard finds it true; whether it was added."""
        evidence = GUARDS[key](self.facts, params)
        if evidence is None:
            return False
        self.said.append(Said(section, key, params, evidence))
        return True

    def first(self, section: str, *offers: str | tuple[str, dict[str, Any]]) -> str | None:
        """The first offered sentence whose guard holds is added; its key (or None)."""
        for offer in offers:
            key, params = (offer, {}) if isinstance(offer, str) else offer
            if self.say(section, key, **params):
                return key
        return None

    def section(self, name: str) -> list[Said]:
        return [s for s in self.said if s.section == name]

    def has(self, key: str) -> bool:
        return any(s.key == key for s in self.said)

    def claims(self) -> list[dict[str, Any]]:
        """What result.json / data.json record: each claiming sentence and its events."""
        return [{"claim": s.key, "section": s.section, "evidence": list(s.evidence)}
                for s in self.said if s.key in CLAIMING]

    def rendered(self, t: Mapping[str, Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.said:
            out.setdefault(s.section, []).append(text(t, s.key, s.params))
        return out


# -- wording ------------------------------------------------------------------------------------


def text(t: Mapping[str, Any], key: str, params: Mapping[str, Any]) -> str:
    template = str(t["letter"][key])
    return template.format(**{name: word(t, name, value) for name, value in params.items()})


def word(t: Mapping[str, Any], name: str, value: Any) -> str:
    """A parameter as the language writes it: systems by name, months in words, dates only."""
    if isinstance(value, list | tuple) and name in ("systems", "told", "not_told"):
        return join(t, [str(t["named"].get(v, v)) for v in value])
    if name == "months" and isinstance(value, int):
        return count_words(t, value, "months")
    if isinstance(value, Duration):
        whole = round(value.seconds)
        for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
            if whole >= size and whole % size == 0:
                return count_words(t, whole // size, unit)
        return count_words(t, whole, "seconds")
    if isinstance(value, datetime):
        return value.astimezone(SWEDEN).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if name == "number" and isinstance(value, str):
        return phone(value)
    return str(value)


def join(t: Mapping[str, Any], names: list[str]) -> str:
    """"A, B och C" / "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {t['and']} {names[-1]}"


def count_words(t: Mapping[str, Any], n: int, noun: str) -> str:
    """"en månad", "två månader": small numbers in words, as a letter writes them."""
    numbers: list[str] = t["numbers"]
    forms = t["plural"][noun]
    shown = numbers[n] if 0 <= n < len(numbers) else str(n)
    return str(forms["one" if n == 1 else "other"]).format(n=shown)
