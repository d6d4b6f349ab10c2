"""What one partner is: its spec, its business roles, its actions per right, its settings model
and its connector.

A :class:`Partner` is one entry in :data:`app.partners.PARTNERS`; adding a partner is one such
entry plus its connector module. Rules that need a particular partner ask for its role
(:data:`REGISTER`, :data:`DIRECTORY`, :data:`PORTING`), never for its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.connectors.capabilities import CallsBack, Connector
from app.connectors.config import PartnerSettings
from app.models import RequestType

# The own customer register: always asked (it is keyed by the customer number), holds the
# contracts and the call history, and the address a letter or notice goes to.
REGISTER = "register"
# The directory listing: unlisting answers an objection to direct marketing.
DIRECTORY = "directory"
# The number-portability registry: it books a number port to a receiving operator.
PORTING = "porting"
ROLES = frozenset({REGISTER, DIRECTORY, PORTING})

# Fields a rectification may change; each partner holds some of them (``Partner.holds``).
RECTIFIABLE_FIELDS = ("name", "address", "postal_code", "city", "email", "phone")

# Makes a partner's connector from its egress (None for a manual partner) and its settings.
ConnectorFactory = Callable[..., Connector]


@dataclass(frozen=True, slots=True)
class Partner:
    name: str
    title: str
    key: str  # what the system knows the customer by (the link's meaning)
    holds: tuple[str, ...]  # rectifiable fields it holds
    connector: ConnectorFactory
    # The action it carries out for each right (a right it takes no part in is absent).
    # Steps a right adds by its own rule (an objection's unlisting, a number port) are the
    # right's, asked for by role.
    actions: Mapping[RequestType, str] = field(default_factory=dict)
    roles: frozenset[str] = frozenset()
    # Its settings, nested in ``Settings`` under its name; None: it has no API to configure.
    settings: type[PartnerSettings] | None = PartnerSettings
    needs_link: bool = True  # False: keyed by the customer number, always asked
    manual: bool = False  # an agent carries every action out; nothing is sent
    own: bool = False  # the company's own system, not a recipient (art. 19)

    def __post_init__(self) -> None:
        unknown = self.roles - ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")

    @property
    def calls_back(self) -> bool:
        """Whether it answers by webhook (its connector is :class:`CallsBack`)."""
        return isinstance(self.connector, type) and issubclass(self.connector, CallsBack)

    def build(self, egress: Any, config: PartnerSettings | None) -> Connector:
        return self.connector(egress, config)
