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
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

LANGUAGES = ("sv", "en")
_ISO_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]00:?00)$")


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
    return env


def show(value: Any, t: dict[str, Any] | None = None) -> str:
    """A scalar for a table cell: ISO timestamps readable, booleans in words, null as a dash."""
    labels = (t or {}).get("labels", {})
    if value is None or value == "":
        return str(labels.get("none", "—"))
    if isinstance(value, bool):
        return str(labels.get("yes" if value else "no", str(value).lower()))
    if isinstance(value, str):
        match = _ISO_TS.match(value)
        return f"{match[1]} {match[2]} UTC" if match else value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def label(t: dict[str, Any], key: str) -> str:
    return str(t["fields"].get(key, key))


def _flatten(record: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in record.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def shape(value: Any, t: dict[str, Any]) -> dict[str, Any]:
    """A display block for one category's data."""
    if isinstance(value, dict):
        rows = [(" / ".join(label(t, part) for part in key.split(".")), _cell(item, t))
                for key, item in _flatten(value)]
        return {"kind": "kv", "rows": rows}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        columns: list[str] = []
        for item in value:
            columns.extend(k for k in item if k not in columns)
        return {"kind": "table", "columns": [label(t, c) for c in columns],
                "rows": [[_cell(item.get(c), t) for c in columns] for item in value]}
    if isinstance(value, list):
        return {"kind": "list", "entries": [_cell(item, t) for item in value]}
    return {"kind": "kv", "rows": [("", _cell(value, t))]}


def _cell(value: Any, t: dict[str, Any]) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) for v in value) and value:
        return "; ".join(", ".join(f"{label(t, k)}: {show(v, t)}" for k, v in item.items())
                         for item in value)
    if isinstance(value, list):
        return ", ".join(show(v, t) for v in value) or show(None, t)
    if isinstance(value, dict):
        return ", ".join(f"{label(t, k)}: {show(v, t)}" for k, v in _flatten(value))
    return show(value, t)


def category_info(t: dict[str, Any], key: str) -> dict[str, str]:
    info: dict[str, str] = t["categories"].get(key) or t["categories"]["other"]
    return info


def render(context: dict[str, Any]) -> Iterator[str]:
    """The report, as pieces of text (jinja's streaming ``generate``)."""
    return environment().get_template("report.html.j2").generate(**context)
