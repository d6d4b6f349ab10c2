"""Which systems there are, what each knows the customer by, and which fields each holds.

What each system does for each right is the right's own rule (``app.rights``, one entry per
request type); the connector modules carry the actions out. A partner system gets a task only
when the customer has a pseudonymous link there (the links table is the record of who holds
the customer's data); the own register is keyed by the customer number itself and is always
asked.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    needs_link: bool = True
    manual: bool = False


SYSTEMS: dict[str, SystemSpec] = {
    spec.name: spec
    for spec in (
        SystemSpec(
            name="crm", title="Connect2IP customer register", key="customer number",
            holds=RECTIFIABLE_FIELDS, needs_link=False,
        ),
        SystemSpec(
            name="stadsnat", title="Stadsnät (municipal fibre network)", key="service ID",
            holds=("address", "postal_code", "city"),
        ),
        SystemSpec(
            name="fortnox", title="Fortnox Finans (invoicing)", key="Fortnox customer number",
            holds=("name", "address", "postal_code", "city", "email", "phone"),
        ),
        SystemSpec(
            name="snpac", title="SNPAC (number portability)", key="phone number",
            holds=(),
        ),
        SystemSpec(
            name="eniro", title="Eniro/Hitta (directory listings)", key="listing ID",
            holds=("name", "address", "postal_code", "city", "phone"),
        ),
        SystemSpec(
            name="installer", title="Installation company", key="order ID",
            holds=("address", "postal_code", "city", "phone"), manual=True,
        ),
    )
}
