"""Which systems hold what, and what each does for each kind of request.

This is the declarative half of the connectors: the planner reads it to create one task per
(system, action) when a request is accepted; the connector modules carry the actions out.
A partner system gets a task only when the customer has a pseudonymous link there (the links
table is the record of who holds the customer's data); the own register is keyed by the
customer number itself and is always asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.models import RequestType

# The operators in SNPAC's registry that a number can be ported to (the sandbox's SNPAC keeps
# the same registry and refuses any other): a portability request names one of them.
KNOWN_OPERATORS = ("Telia", "Tele2", "Telenor", "Tre", "Bahnhof", "Ownit", "Telavox",
                   "Comviq", "Halebop", "Vimla", "Fello", "Hallon")


def known_operator(name: str) -> str | None:
    """The registry's spelling of an operator's name, matched without regard to case."""
    wanted = name.strip().casefold()
    return next((known for known in KNOWN_OPERATORS if known.casefold() == wanted), None)


# Fields a rectification may change, and which systems hold each of them.
RECTIFIABLE_FIELDS = ("name", "address", "postal_code", "city", "email", "phone")


@dataclass(frozen=True, slots=True)
class SystemSpec:
    name: str
    title: str
    key: str  # what the system knows the customer by (the link's meaning)
    holds: tuple[str, ...]  # rectifiable fields it holds
    actions: dict[RequestType, str] = field(default_factory=dict)
    needs_link: bool = True
    manual: bool = False


SYSTEMS: dict[str, SystemSpec] = {
    spec.name: spec
    for spec in (
        SystemSpec(
            name="crm", title="Connect2IP customer register", key="customer number",
            holds=RECTIFIABLE_FIELDS, needs_link=False,
            actions={
                RequestType.access: "export", RequestType.erasure: "erase",
                RequestType.rectification: "rectify", RequestType.restriction: "restrict",
                RequestType.portability: "export_provided",
            },
        ),
        SystemSpec(
            name="stadsnat", title="Stadsnät (municipal fibre network)", key="service ID",
            holds=("address", "postal_code", "city"),
            actions={
                RequestType.access: "export", RequestType.erasure: "erase",
                RequestType.rectification: "rectify", RequestType.restriction: "restrict",
            },
        ),
        SystemSpec(
            name="fortnox", title="Fortnox Finans (invoicing)", key="Fortnox customer number",
            holds=("name", "address", "postal_code", "city", "email", "phone"),
            actions={
                RequestType.access: "export", RequestType.erasure: "erase",
                RequestType.rectification: "rectify", RequestType.restriction: "restrict",
            },
        ),
        SystemSpec(
            name="snpac", title="SNPAC (number portability)", key="phone number",
            holds=(),
            actions={
                RequestType.access: "export", RequestType.erasure: "erase",
                RequestType.restriction: "restrict",
            },
        ),
        SystemSpec(
            name="eniro", title="Eniro/Hitta (directory listings)", key="listing ID",
            holds=("name", "address", "postal_code", "city", "phone"),
            actions={
                RequestType.access: "export", RequestType.erasure: "unlist",
                RequestType.rectification: "rectify", RequestType.restriction: "restrict",
            },
        ),
        SystemSpec(
            name="installer", title="Installation company", key="order ID",
            holds=("address", "postal_code", "city", "phone"), manual=True,
            actions={
                RequestType.access: "export", RequestType.erasure: "erase",
                RequestType.rectification: "rectify", RequestType.restriction: "restrict",
            },
        ),
    )
}


def plan(
    request_type: RequestType, details: dict[str, Any], linked: set[str]
) -> list[tuple[str, str]]:
    """The (system, action) pairs a request needs, given the systems the customer is linked to."""
    steps: list[tuple[str, str]] = []
    changes = set(details.get("changes", {}))
    for spec in SYSTEMS.values():
        if spec.needs_link and spec.name not in linked:
            continue
        action = spec.actions.get(request_type)
        if action is None:
            continue
        if request_type is RequestType.rectification and not changes & set(spec.holds):
            continue
        steps.append((spec.name, action))

    if request_type is RequestType.objection:
        if details.get("processing") == "direct_marketing":
            # Always honoured: marketing use stops and the marketing consent is withdrawn.
            # The directory listing is the customer's separate choice (details.unlist).
            steps.append(("crm", "stop_marketing"))
            if details.get("unlist") and "eniro" in linked:
                steps.append(("eniro", "unlist"))
        else:
            # Art. 21(1): continuing needs compelling grounds, which only a person can weigh.
            steps.append(("crm", "assess_objection"))
    porting = request_type is RequestType.portability and details.get("receiving_operator")
    if porting and "snpac" in linked:
        steps.append(("snpac", "port_number"))
    return steps
