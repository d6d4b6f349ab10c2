"""The retry and throttle policy, as pure functions of the error and the job's attempts.

A transient error is retried with exponential backoff ("equal jitter": half fixed, half
random, capped) until the attempts run out. A :class:`~app.errors.Throttled` reply (429) is
pacing, not a failed attempt: it does not count, and is given up only once the target has
throttled for longer than ``max_throttle_s``. A ``retry_after`` the target asked for wins over
the backoff, up to ``retry_after_cap_s``. The policy decides by the error's class.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from app.errors import ConnectorError, MaybeDelivered, Throttled, TransientError


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Policy:
    base_s: float
    cap_s: float
    max_attempts: int
    retry_after_cap_s: float
    max_throttle_s: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after an error: retry in ``delay_s`` (None: give up), with the attempts the
    job now counts. ``throttled_out``: given up because throttling lasted too long."""

    delay_s: float | None
    attempts: int
    throttled_out: bool = False


def throttled(exc: ConnectorError) -> bool:
    return isinstance(exc, Throttled)


def maybe_delivered(exc: ConnectorError) -> bool:
    return isinstance(exc, MaybeDelivered)


def decide(
    exc: ConnectorError, *, transient: bool, attempts: int, throttled_since: datetime | None,
    now: datetime, policy: Policy, rng: random.Random,
) -> Decision:
    """Retry or give up after ``exc`` on attempt ``attempts`` (pure but for ``rng``)."""
    if throttled(exc):
        attempts = max(0, attempts - 1)  # pacing is not a failed attempt
        since = throttled_since or now
        if (now - since).total_seconds() >= policy.max_throttle_s:
            return Decision(None, attempts, throttled_out=True)
    if transient and attempts < policy.max_attempts:
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        delay = backoff_delay(attempts, base=policy.base_s, cap=policy.cap_s, rng=rng)
        if retry_after is not None:
            delay = min(retry_after, policy.retry_after_cap_s)
        return Decision(delay, attempts)
    return Decision(None, attempts)
