"""Notices sent while a request is still open: the letter that goes with a portal
notification at once, not only inside the final answer.

- **extension** (art. 12(3)): the customer is told within the first month that the answer
  will come later, by how much and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.rights.facts import Evidence, Facts
from app.rights.letter import Letter, always, claim

always("notice.complaint")


def _due(facts: Facts) -> datetime | None:
    extension = facts.request.extension or {}
    raw = extension.get("due_at")
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None


@claim("notice.extension")
def _extension(facts: Facts, params: Mapping[str, Any]) -> Evidence | None:
    extension = facts.request.extension
    if not extension or params.get("months") != extension.get("months") \
            or params.get("due") != _due(facts) or params.get("received") \
            != facts.request.received_at:
        return None
    return facts.events("extended")


def extension(facts: Facts) -> Letter | None:
    """The extension notice, or None when the request was not extended."""
    if not facts.request.extension:
        return None
    out = Letter(facts, "extension_notice")
    if not out.say("intro", "notice.extension", months=facts.request.extension["months"],
                   due=_due(facts), received=facts.request.received_at):
        return None
    out.say("complaint", "notice.complaint")
    return out
