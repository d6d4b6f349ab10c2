"""One connector per system, built from the settings and one shared HTTP client.

Each HTTP system gets its own :class:`Egress` so its limits (timeout, concurrency, rate) apply
to it alone: a throttled Fortnox must not slow the register down.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.connectors.base import Connector, Egress, Limits
from app.connectors.crm import CrmConnector
from app.connectors.eniro import EniroConnector
from app.connectors.fortnox import FortnoxConnector
from app.connectors.manual import InstallerConnector
from app.connectors.snpac import SnpacConnector
from app.connectors.stadsnat import StadsnatConnector
from app.settings import Settings

# The systems reached over HTTP, each with the class that speaks its protocol.
HTTP_CONNECTORS: dict[str, Callable[[Egress, Settings], Connector]] = {
    cls.system: cls
    for cls in (CrmConnector, FortnoxConnector, StadsnatConnector, SnpacConnector, EniroConnector)
}


def build_egress(settings: Settings, client: httpx.AsyncClient, system: str) -> Egress:
    return Egress(
        client, system=system, base_url=settings.partner_url(system),
        limits=Limits(*settings.limits(system)),
    )


def build_connectors(settings: Settings, client: httpx.AsyncClient) -> dict[str, Connector]:
    """Every system's connector, keyed by system name (the names in ``catalog.SYSTEMS``)."""
    connectors: dict[str, Connector] = {
        system: factory(build_egress(settings, client, system), settings)
        for system, factory in HTTP_CONNECTORS.items()
    }
    connectors[InstallerConnector.system] = InstallerConnector(settings=settings)
    return connectors
