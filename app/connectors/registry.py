"""One connector per system, built from the settings and one shared HTTP client.

Each HTTP system gets its own :class:`Egress` so its limits (timeout, concurrency, rate) apply
to it alone: a throttled Fortnox must not slow the register down.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.connectors.base import Connector, Egress, Limits, RateLimiter
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


# Makes the limiter of a partner with a rate: (system, calls, per seconds) -> limiter.
LimiterFactory = Callable[[str, int, float], RateLimiter]


def build_egress(
    settings: Settings, client: httpx.AsyncClient, system: str,
    limiter_factory: LimiterFactory | None = None,
) -> Egress:
    limits = Limits(*settings.limits(system))
    limiter = (limiter_factory(system, limits.rate, limits.per_s)
               if limiter_factory is not None and limits.rate else None)
    return Egress(client, system=system, base_url=settings.partner_url(system), limits=limits,
                  limiter=limiter)


def build_connectors(
    settings: Settings, client: httpx.AsyncClient, *,
    limiter_factory: LimiterFactory | None = None,
) -> dict[str, Connector]:
    """Every system's connector, keyed by system name (the names in ``catalog.SYSTEMS``).

    ``limiter_factory`` makes the rate limiters (the runtime's are shared by every process);
    without it each process keeps its own."""
    connectors: dict[str, Connector] = {
        system: factory(build_egress(settings, client, system, limiter_factory), settings)
        for system, factory in HTTP_CONNECTORS.items()
    }
    connectors[InstallerConnector.system] = InstallerConnector(settings=settings)
    return connectors
