"""Injected partner failures (``DSR_SANDBOX_FAULTS``), so retries and polling get exercised.

The spec is ``system:kind=rate`` pairs separated by commas, e.g.
``fortnox:throttle=0.3,stadsnat:lost_callback=0.2``. ``error``, ``timeout`` and ``throttle``
hit an incoming call before the partner looks at it; ``lost_callback`` is rolled when an
asynchronous partner accepts a job and, when it hits, the job still completes (visible through
``GET /requests/{id}``) but its callback is never sent. Rolls use the state's seedable
``random.Random`` so a test can make them deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from app.partners import configured
from app.sandbox.http import Answer, error_response

FAULT_KINDS = ("error", "timeout", "throttle", "lost_callback")
CALL_FAULTS = ("timeout", "error", "throttle")  # the ones that replace an answer

log = logging.getLogger("app.sandbox.faults")


@dataclass(frozen=True)
class Faults:
    """Probability of each (system, kind) fault; absent pairs never fire."""

    rates: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def rate(self, system: str, kind: str) -> float:
        return self.rates.get((system, kind), 0.0)

    def hits(self, system: str, kind: str, rng: random.Random) -> bool:
        rate = self.rate(system, kind)
        # A rate of 1 always fires and 0 never does, without spending a roll on either.
        if rate <= 0.0:
            return False
        return rate >= 1.0 or rng.random() < rate


def parse_faults(spec: str) -> Faults:
    """Parse a fault spec; an empty spec means no faults. Bad syntax raises ``ValueError``."""
    rates: dict[tuple[str, str], float] = {}
    partners = tuple(entry.name for entry in configured())
    for raw in spec.split(","):
        pair = raw.strip()
        if not pair:
            continue
        head, eq, rate_text = pair.partition("=")
        system, colon, kind = head.strip().partition(":")
        system, kind = system.strip(), kind.strip()
        if not eq or not colon or not system or not kind:
            raise ValueError(
                f"invalid sandbox fault {pair!r}: expected system:kind=rate, e.g. fortnox:error=0.2"
            )
        if system not in partners:
            raise ValueError(
                f"invalid sandbox fault {pair!r}: unknown system {system!r} "
                f"(one of {', '.join(partners)})"
            )
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"invalid sandbox fault {pair!r}: unknown kind {kind!r} "
                f"(one of {', '.join(FAULT_KINDS)})"
            )
        try:
            rate = float(rate_text.strip())
        except ValueError:
            raise ValueError(
                f"invalid sandbox fault {pair!r}: rate must be a number from 0 to 1"
            ) from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"invalid sandbox fault {pair!r}: rate must be from 0 to 1")
        if (system, kind) in rates:
            raise ValueError(f"invalid sandbox fault {pair!r}: {system}:{kind} given twice")
        rates[(system, kind)] = rate
    return Faults(rates)


class FaultState(Protocol):
    """What :func:`gate` reads of the sandbox's state (``SandboxState`` is one); knobs a test
    may turn while the sandbox runs."""

    @property
    def faults(self) -> Faults: ...

    @property
    def rng(self) -> random.Random: ...

    @property
    def timeout_fault_s(self) -> float: ...

    @property
    def delay_ms(self) -> int: ...


def gate(
    state: FaultState, system: str, *, delay: bool
) -> Callable[[], Awaitable[None]]:
    """A router dependency: inject this system's call faults, then the configured delay.

    ``delay`` is for the partners that answer at once; the asynchronous ones spend their
    delay in the job instead, so their ``202`` stays immediate as a real partner's would.
    """

    async def dependency() -> None:
        faults, rng = state.faults, state.rng
        if faults.hits(system, "timeout", rng):
            log.info("sandbox fault injected", extra={"system": system, "fault": "timeout"})
            # Longer than any client waits, so the client gives up first and sees a timeout;
            # a cancelled request (or a closing sandbox) cancels the sleep.
            await asyncio.sleep(state.timeout_fault_s)
            raise Answer(error_response(system, 504, "timeout", "The partner did not answer."))
        if faults.hits(system, "error", rng):
            log.info("sandbox fault injected", extra={"system": system, "fault": "error"})
            raise Answer(error_response(system, 500, "internal_error", "Internal server error."))
        if faults.hits(system, "throttle", rng):
            log.info("sandbox fault injected", extra={"system": system, "fault": "throttle"})
            response = error_response(system, 429, "rate_limited", "Too many requests.")
            response.headers["Retry-After"] = "1"
            raise Answer(response)
        if delay and state.delay_ms:
            await asyncio.sleep(state.delay_ms / 1000)

    return dependency
