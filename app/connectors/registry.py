"""One connector per system, built from the settings.

Each HTTP system gets its own :class:`Egress` so its limits (timeout, concurrency, rate) apply
to it alone: a throttled partner must not slow the register down.

Each also gets its own connection pool, holding at most as many connections as the partner's
concurrency (:func:`partner_client`). httpcore's pool looks at every connection it holds on
every request and every response (whether each has expired, which asks the socket): one pool
shared by five partners held up to twenty connections, and in a profiled burst of 200 that pass
took 2.5 s of 37.7 s (1.65 s with a pool per partner). (Tests may pass one client for all, e.g.
over an ASGI transport.)
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.connectors.base import Connector, Egress, Limits, RateLimiter
from app.partners import PARTNERS
from app.settings import Settings

# Makes the limiter of a partner with a rate: (system, calls, per seconds) -> limiter.
LimiterFactory = Callable[[str, int, float], RateLimiter]


def partner_client(limits: Limits) -> httpx.AsyncClient:
    """A partner's own connection pool: as many connections as calls it may have in flight
    (its Egress admits no more), all of them kept alive between calls."""
    pool = httpx.Limits(max_connections=limits.concurrency,
                        max_keepalive_connections=limits.concurrency)
    return httpx.AsyncClient(limits=pool, follow_redirects=False, trust_env=False)


def build_egress(
    settings: Settings, client: httpx.AsyncClient | None, system: str,
    limiter_factory: LimiterFactory | None = None,
) -> Egress:
    limits = Limits(*settings.limits(system))
    limiter = (limiter_factory(system, limits.rate, limits.per_s)
               if limiter_factory is not None and limits.rate else None)
    return Egress(client or partner_client(limits), system=system,
                  base_url=settings.partner_url(system), limits=limits, limiter=limiter,
                  owns_client=client is None)


def build_connectors(
    settings: Settings, client: httpx.AsyncClient | None = None, *,
    limiter_factory: LimiterFactory | None = None,
) -> dict[str, Connector]:
    """Every system's connector, keyed by system name (the names in ``app.partners.PARTNERS``).

    Without ``client`` each partner gets its own pool (:func:`partner_client`), closed by
    :func:`close_connectors`. ``limiter_factory`` makes the rate limiters (the runtime's are
    shared by every process); without it each process keeps its own."""
    connectors: dict[str, Connector] = {}
    for name, entry in PARTNERS.items():
        if entry.settings is None:  # no API: nothing to reach, nothing to configure
            connectors[name] = entry.build(None, None)
        else:
            egress = build_egress(settings, client, name, limiter_factory)
            connectors[name] = entry.build(egress, settings.partner_settings(name))
    return connectors


async def close_connectors(connectors: dict[str, Connector]) -> None:
    """Close the connection pools the connectors own."""
    for connector in connectors.values():
        egress: Egress | None = getattr(connector, "egress", None)
        if egress is not None:
            await egress.aclose()
