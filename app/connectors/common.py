"""Small helpers the connector modules share: reading partner answers without leaking them.

A partner's answer may carry personal data, so nothing here copies partner text into an error
verbatim. Errors name the system, the status and, at most, a short machine code that matched a
strict pattern (``not_found``, ``invalid_body``, a partner's numeric error code).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

from app.connectors.base import Retained, egress_violation, json_body, refuse
from app.errors import PermanentError

_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")
# A phone number as partners write it (+46470123456, 0470-12 34 56): kept out of summaries.
_PHONE_RE = re.compile(r"\+\d[\d \-]{6,}\d|(?<!\d)0\d{1,3}[- ]?\d{5,8}(?!\d)")
MAX_TEXT = 300


def bearer(api_key: str | None) -> dict[str, str]:
    """The ``Authorization`` header for a partner API key, or none when no key is configured."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def safe_code(value: Any) -> str | None:
    """A partner's error code if it looks like an identifier (so it cannot carry personal data)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _CODE_RE.match(value):
        return value
    return None


def safe_text(value: Any, fallback: str) -> str:
    """Partner prose (a summary, a refusal reason) if it shows no personal-data shape.

    The OpenDSR protocol promises summaries and reasons without personal data; this is the
    belt to that brace: a personnummer, e-mail or phone-number shape, or anything that is not a
    short string, is replaced by ``fallback``.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return fallback
    if egress_violation(value) is not None or _PHONE_RE.search(value):
        return fallback
    return value.strip()


def json_object(response: httpx.Response, system: str) -> dict[str, Any]:
    """The response's JSON object; malformed JSON or another JSON type is a permanent error."""
    body = json_body(response, system)
    if not isinstance(body, dict):
        raise PermanentError(f"{system} answered {response.status_code} with an unexpected body")
    return body


def refuse_with_code(response: httpx.Response, system: str) -> PermanentError:
    """A permanent error for an unhandled 4xx, naming the partner's ``error`` code if safe."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # a partner's body: any shape
        body = None
    code = safe_code(body.get("error")) if isinstance(body, dict) else None
    return refuse(response, system, f"error {code}" if code else None)


def parse_retained(item: Any, system: str) -> Retained:
    """One ``{"category", "basis", "until"}`` entry of a partner's answer, checked.

    ``until`` must be an ISO date or null (kept while the contract is in force): the service
    schedules the deferred erasure from it, so a malformed date is a permanent error.
    """
    problem = PermanentError(f"{system} answered with a malformed retained entry")
    if not isinstance(item, dict):
        raise problem
    category, basis, until = item.get("category"), item.get("basis"), item.get("until")
    if not isinstance(category, str) or not category or not isinstance(basis, str) or not basis:
        raise problem
    if until is not None:
        if not isinstance(until, str):
            raise problem
        try:
            date.fromisoformat(until)
        except ValueError:
            raise problem from None
    code, basis_code = safe_code(item.get("code")), safe_code(item.get("basis_code"))
    return Retained(category, basis, until, code, basis_code)
