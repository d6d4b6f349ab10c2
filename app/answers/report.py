"""The human-readable ``report.html``: one jinja2 template, texts per language.

``app/templates/report.html.j2`` is the only template; every sentence in it comes from
``app/templates/i18n/{sv,en}.json``, so both languages have the same sections by construction.
Autoescaping is on for everything (a customer's name is data, never markup), undefined names
are errors, and the page is self-contained: inline CSS, no fonts, scripts or images, and a
Content-Security-Policy that forbids loading anything.

The shaping helpers turn arbitrary partner data (dicts, lists of rows, scalars) into simple
display blocks, so the template never has to guess at a value's shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from jinja2 import Environment, PackageLoader, StrictUndefined

LANGUAGES = ("sv", "en")
_ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$")
SWEDEN = ZoneInfo("Europe/Stockholm")  # every time in an answer is Swedish time
# Fields that hold an amount of money in kronor, shown as "1 234,50 kr".
MONEY_FIELDS = frozenset({"amount_sek", "Total", "Balance"})
# Fields that are dates, whatever clock time a system stores with them ("2021-03-15", never
# an invented "10:00"): when a contract started, a service since, an invoice's dates.
DATE_FIELDS = frozenset({"started_at", "ended_at", "since", "date", "invoice_date", "due_date",
                         "InvoiceDate", "DueDate", "opened_on", "closed_on"})
# Fields that hold a phone number, shown in the Swedish way.
PHONE_FIELDS = frozenset({"phone", "number", "Phone1", "counterpart"})
# Keys that are a partner's own plumbing, never the customer's data (an invoicing system's
# "@url", say).
HIDDEN_PREFIX = "@"


@cache
def texts(language: str) -> dict[str, Any]:
    if language not in LANGUAGES:
        language = "sv"
    raw = (resources.files("app") / "templates" / "i18n" / f"{language}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app", "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["show"] = show
    env.filters["fmt"] = lambda template, **values: template.format(**values)
    env.filters["day"] = lambda value, t: str(value)[:10] if value else show(None, t)
    env.filters["count"] = count
    env.filters["value"] = lambda value, t, key: shown_value(key, value, t)
    env.filters["phone"] = phone
    return env


def phone(value: str | None) -> str:
    """A phone number the way a Swedish reader writes it ("0470-12 34 56"); a number from
    abroad in its international form; anything that is not a number as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "SE")
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 46
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)


def count(n: int, t: dict[str, Any], noun: str) -> str:
    """``n`` with the right singular or plural noun: "1 rad", "2 rader"."""
    forms = t["plural"][noun]
    return str(forms["one" if n == 1 else "other"]).format(n=n)


def money(value: float | int, t: dict[str, Any]) -> str:
    """An amount in kronor the way the language writes it: "1 234,50 kr" / "SEK 1,234.50"."""
    text = f"{value:,.2f}"
    if t.get("lang") == "sv":
        return text.replace(",", " ").replace(".", ",") + " kr"
    return f"SEK {text}"


def when(value: str) -> str:
    """An ISO timestamp as Swedish local time, "2026-11-29 17:05"."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M")


def show(value: Any, t: dict[str, Any] | None = None) -> str:
    """A scalar for a table cell: ISO timestamps readable, booleans in words, null as a dash."""
    labels = (t or {}).get("labels", {})
    if value is None or value == "":
        return str(labels.get("none", "—"))
    if isinstance(value, bool):
        return str(labels.get("yes" if value else "no", str(value).lower()))
    if isinstance(value, str):
        return when(value) if _ISO_TS.match(value) else value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if (t or {}).get("lang") == "sv" else text
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def shown_value(key: str, value: Any, t: dict[str, Any]) -> str:
    """A field's value for a reader: codes in words, amounts in kronor, the rest via show."""
    if key in MONEY_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return money(value, t)
    words = t.get("values", {}).get(key, {})
    if isinstance(value, str) and value in words:
        return str(words[value])
    if key in PHONE_FIELDS and isinstance(value, str):
        return phone(value)
    if key in DATE_FIELDS and isinstance(value, str) and _ISO_TS.match(value):
        return when(value)[:10]
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
        return ", ".join(str(words.get(v, v)) for v in value)
    return show(value, t)


def outcome_text(
    t: dict[str, Any], *, action: str, status: str, code: str | None = None,
    params: dict[str, Any] | None = None, uncertain: bool = False,
) -> str:
    """A task's outcome in the answer's language, from its code (never the partner's prose)."""
    template = t["outcomes"].get(code) if code else None
    if template:
        try:
            return str(template).format(**{k: _param(t, v) for k, v in (params or {}).items()})
        except (KeyError, IndexError, ValueError):
            pass
    if uncertain:
        return str(t["outcome_generic"]["uncertain"])
    by_action = t["outcome_by_action"].get(action, {})
    return str(by_action.get(status) or t["outcome_generic"].get(status, status))


def _param(t: dict[str, Any], value: Any) -> str:
    """An outcome's parameter in words: a list of category codes as a list, a date as a day."""
    if isinstance(value, list):
        words = [str(t["erased_categories"].get(v, v)) for v in value]
        if len(words) <= 1:
            return "".join(words)
        return f"{', '.join(words[:-1])} {t['and']} {words[-1]}"
    if isinstance(value, str) and _ISO_TS.match(value):
        return when(value)[:10]
    return str(value)


def label(t: dict[str, Any], key: str) -> str:
    return str(t["fields"].get(key, key))


def _flatten(record: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in record.items():
        if key.startswith(HIDDEN_PREFIX):
            continue
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def shape(value: Any, t: dict[str, Any], key: str = "") -> dict[str, Any]:
    """A display block for one category's data."""
    if isinstance(value, dict):
        rows = [(" / ".join(label(t, part) for part in key.split(".")),
                 _cell(item, t, key.rsplit(".", 1)[-1]))
                for key, item in _flatten(value)]
        return {"kind": "kv", "rows": rows}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        columns: list[str] = []
        for item in value:
            columns.extend(k for k in item if k not in columns and not k.startswith(HIDDEN_PREFIX))
        return {"kind": "table", "columns": [label(t, c) for c in columns],
                "rows": [[_cell(item.get(c), t, c) for c in columns] for item in value]}
    if isinstance(value, list):
        return {"kind": "list", "entries": [shown_value(key, item, t) for item in value]}
    return {"kind": "kv", "rows": [("", _cell(value, t, key))]}


def _cell(value: Any, t: dict[str, Any], key: str = "") -> str:
    if isinstance(value, list) and all(isinstance(v, dict) for v in value) and value:
        return "; ".join(", ".join(f"{label(t, k)}: {shown_value(k, v, t)}"
                                   for k, v in item.items() if not k.startswith(HIDDEN_PREFIX))
                         for item in value)
    if isinstance(value, list) and not value:
        return show(None, t)
    if isinstance(value, dict):
        return ", ".join(f"{label(t, k)}: {shown_value(k.rsplit('.', 1)[-1], v, t)}"
                         for k, v in _flatten(value))
    return shown_value(key, value, t)


def category_info(t: dict[str, Any], key: str) -> dict[str, str]:
    info: dict[str, str] = t["categories"].get(key) or t["categories"]["other"]
    return info


def render(context: dict[str, Any]) -> Iterator[str]:
    """The report, as pieces of text (jinja's streaming ``generate``)."""
    return environment().get_template("report.html.j2").generate(**context)
