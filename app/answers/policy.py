"""The controller's facts (``app/policy/connect2ip.toml``), in the language of an answer.

Answers state what the company does only through this module: the purposes, categories and
legal bases, recipients, retention, sources, transfers and automated decisions, and the
controller's contact details, each read from the reviewed policy file in Swedish or English.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

POLICY_FILE = "connect2ip.toml"


@cache
def facts() -> dict[str, Any]:
    raw = (resources.files("app") / "policy" / POLICY_FILE).read_text("utf-8")
    return tomllib.loads(raw)


@cache
def policy_text() -> str:
    name = facts()["policy_document"]
    return (resources.files("app") / "policy" / name).read_text("utf-8")


def _pick(entry: dict[str, Any], key: str, language: str) -> str:
    value = entry[key]
    return str(value[language] if isinstance(value, dict) else value)


def for_language(language: str) -> dict[str, Any]:
    """Everything an answer may say about the controller, in ``language`` (sv or en)."""
    data = facts()
    lang = language if language in ("sv", "en") else "sv"
    return {
        "controller": list(data["controller"]["lines"]),
        "categories": [{key: _pick(c, key, lang)
                        for key in ("title", "purpose", "basis", "retention")}
                       for c in data["categories"]],
        "recipients": {r["system"]: {"name": _pick(r, "name", lang), "why": _pick(r, "why", lang)}
                       for r in data["recipients"]},
        "recipients_note": data["recipients_note"][lang],
        "authorities": data["authorities"][lang],
        "sources": [s[lang] for s in data["sources"]],
        "transfers": data["transfers"][lang],
        "automated": data["automated"][lang],
        "bases": {code: entry[lang] for code, entry in data["bases"].items()},
    }


def basis_text(code: str | None, language: str) -> str | None:
    """The wording of a legal basis for something an erasure keeps, by its code."""
    if not code:
        return None
    entry = facts()["bases"].get(code)
    return str(entry[language if language in ("sv", "en") else "sv"]) if entry else None


def sentences(language: str) -> set[str]:
    """Every text the policy file lets an answer say in ``language`` (for the tests)."""
    said = for_language(language)
    texts: set[str] = set(said["controller"]) | set(said["sources"])
    for category in said["categories"]:
        texts.update(category.values())
    for recipient in said["recipients"].values():
        texts.update(recipient.values())
    texts.update({said["recipients_note"], said["authorities"], said["transfers"],
                  said["automated"]})
    texts.update(said["bases"].values())
    return texts
