"""The partners, one entry each: who they are, what they do for each right, their settings and
their connector.

``PARTNERS[name]`` is the one place a partner is described; adding one is an entry here plus
its connector module under ``app/connectors/`` (and, where answers name it, its title in the
i18n files and its entry among the recipients of the privacy policy, ``app/policy``). The
order is the catalogue's: plans, letters and reports list systems in it. Rules that need a
particular partner ask for its role (:func:`with_role`), never for its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from types import MappingProxyType

from app.connectors.crm import CrmConnector, CrmSettings
from app.connectors.eniro import EniroConnector
from app.connectors.fortnox import FortnoxConnector, FortnoxSettings
from app.connectors.manual import InstallerConnector
from app.connectors.snpac import SnpacConnector
from app.connectors.stadsnat import StadsnatConnector
from app.models import RequestType
from app.partners.partner import (
    DIRECTORY,
    PORTING,
    RECTIFIABLE_FIELDS,
    REGISTER,
    ROLES,
    Partner,
)

_ACCESS, _ERASURE = RequestType.access, RequestType.erasure
_RECTIFICATION, _RESTRICTION = RequestType.rectification, RequestType.restriction
# What a partner does for the rights that reach every holder of the data alike; portability
# is answered from the register, and an objection's steps are that right's own rule.
_USUAL_ACTIONS = {_ACCESS: "export", _ERASURE: "erase", _RECTIFICATION: "rectify",
                  _RESTRICTION: "restrict"}

PARTNERS: Mapping[str, Partner] = MappingProxyType({
    entry.name: entry
    for entry in (
        Partner(
            name="crm", title="Connect2IP customer register", key="customer number",
            holds=RECTIFIABLE_FIELDS, connector=CrmConnector, settings=CrmSettings,
            actions={**_USUAL_ACTIONS, RequestType.portability: "export_provided"},
            roles=frozenset({REGISTER}), needs_link=False, own=True,
        ),
        Partner(
            name="stadsnat", title="Stadsnät (municipal fibre network)", key="service ID",
            holds=("address", "postal_code", "city"), connector=StadsnatConnector,
            actions=_USUAL_ACTIONS,
        ),
        Partner(
            name="fortnox", title="Fortnox Finans (invoicing)", key="Fortnox customer number",
            holds=("name", "address", "postal_code", "city", "email", "phone"),
            connector=FortnoxConnector, settings=FortnoxSettings,
            actions=_USUAL_ACTIONS,
        ),
        Partner(
            name="snpac", title="SNPAC (number portability)", key="phone number",
            holds=(), connector=SnpacConnector, roles=frozenset({PORTING}),
            actions={_ACCESS: "export", _ERASURE: "erase", _RESTRICTION: "restrict"},
        ),
        Partner(
            name="eniro", title="Eniro/Hitta (directory listings)", key="listing ID",
            holds=("name", "address", "postal_code", "city", "phone"),
            connector=EniroConnector, roles=frozenset({DIRECTORY}),
            # Unlisting is its erasure: the listing is what it holds.
            actions={**_USUAL_ACTIONS, _ERASURE: "unlist"},
        ),
        Partner(
            name="installer", title="Installation company", key="order ID",
            holds=("address", "postal_code", "city", "phone"), connector=InstallerConnector,
            settings=None, manual=True, actions=_USUAL_ACTIONS,
        ),
    )
})

# The systems as an enum, where the API document names them (a task's system).
System = StrEnum("System", [(name, name) for name in PARTNERS])  # type: ignore[misc]
System.__doc__ = ("A system a request reaches: the company's own register, a partner, or a "
                  "step an agent carries out by hand.")


def partner(name: str) -> Partner:
    """The partner of that name; ``KeyError`` naming it for one that is not in the registry."""
    try:
        return PARTNERS[name]
    except KeyError:
        raise KeyError(f"no partner {name!r}") from None


def with_role(role: str) -> Partner | None:
    """The partner holding a business role (:data:`REGISTER`, :data:`DIRECTORY`,
    :data:`PORTING`), or None when no partner has it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return next((entry for entry in PARTNERS.values() if role in entry.roles), None)


def register() -> Partner:
    """The own customer register, which every deployment has."""
    entry = with_role(REGISTER)
    assert entry is not None, "the registry has a register"
    return entry


@cache  # the registry does not change while the process runs; webhooks ask on every call
def callback_systems() -> tuple[str, ...]:
    """The partners that answer by webhook, in the catalogue's order."""
    return tuple(name for name, entry in PARTNERS.items() if entry.calls_back)


def configured() -> tuple[Partner, ...]:
    """The partners with settings (an API to reach), in the catalogue's order."""
    return tuple(entry for entry in PARTNERS.values() if entry.settings is not None)


def own_systems() -> frozenset[str]:
    """The systems that are the company's own, not recipients (art. 19 speaks of recipients)."""
    return frozenset(name for name, entry in PARTNERS.items() if entry.own)


__all__ = ["DIRECTORY", "PARTNERS", "PORTING", "RECTIFIABLE_FIELDS", "REGISTER", "Partner",
           "System", "callback_systems", "configured", "own_systems", "partner", "register",
           "with_role"]
