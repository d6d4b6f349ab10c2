"""The rights, one entry each: its details model, its plan, its completion rule, its letter.

``RIGHTS[request_type]`` is the one place a request type's rules live; adding a right is one
module beside these (a :class:`~app.rights.base.Right`) plus its texts under ``letter.`` in the
i18n files. :func:`letter_for` picks the letter of a finished request: its right's, or the
closing letter of a rejection or cancellation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models import RequestType
from app.rights import (
    access,
    closing,
    erasure,
    notices,  # noqa: F401 - registers the notices' sentences
    objection,
    portability,
    rectification,
    restriction,
)
from app.rights.base import Right, Step
from app.rights.facts import Facts, PackageInputs
from app.rights.letter import Letter

RIGHTS: dict[RequestType, Right] = {
    entry.type: entry
    for entry in (access.RIGHT, erasure.RIGHT, rectification.RIGHT, restriction.RIGHT,
                  objection.RIGHT, portability.RIGHT)
}
assert set(RIGHTS) == set(RequestType), "every request type has its entry"


def plan(request_type: RequestType, details: Mapping[str, Any], linked: set[str]) -> list[Step]:
    """The (system, action) pairs a request needs, given the systems the customer is linked to."""
    return RIGHTS[request_type].plan(details, linked)


def actions() -> set[tuple[str, str]]:
    """Every (system, action) some right may plan."""
    return {step for right in RIGHTS.values()
            for step in (*right.actions.items(), *right.may_add)}


def letter_for(inputs: PackageInputs) -> Letter:
    facts = Facts(inputs)
    if inputs.request.status == "rejected":
        return closing.rejected(facts)
    if inputs.request.status == "cancelled":
        return closing.cancelled(facts)
    return RIGHTS[RequestType(inputs.request.type)].letter(facts)


__all__ = ["RIGHTS", "Facts", "Letter", "PackageInputs", "Right", "actions", "letter_for",
           "plan"]
