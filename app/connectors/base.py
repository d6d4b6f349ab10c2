"""What every connector shares: the call it gets, the outcomes it returns, and the one egress path.

A connector knows one partner's API and nothing else. It receives a :class:`Call` holding the
pseudonymous link for its system (never the customer's personal data; ``app.connectors.call``),
makes its HTTP calls through :class:`Egress`, and returns an :class:`Outcome` or raises
:class:`~app.errors.TransientError` (retry later) / :class:`~app.errors.PermanentError` (the task
fails with a reason an agent can read).

:class:`Egress` is the only way out to a partner. It refuses a payload that carries a
personnummer- or e-mail-shaped value that the call did not explicitly allow (a rectification's
new value for a field the partner holds), applies the system's concurrency and rate limits,
sends the task id as ``Idempotency-Key``, and turns timeouts, 429 and 5xx into
``TransientError`` (honouring ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

# What a connector is given and returns, and what it can do: the names connectors and their
# callers import from here.
from app.connectors.call import (
    LATEST_UNTIL,
    Call,
    ErasedBy,
    Outcome,
    Retained,
    awaiting_callback,
    done,
    format_partner_ref,
    manual,
    no_data,
    parse_partner_ref,
    retained,
    until_problem,
)
from app.connectors.capabilities import Connector
from app.errors import MaybeDelivered, PermanentError, Throttled, TransientError

__all__ = [
    "LATEST_UNTIL", "Call", "Connector", "Egress", "ErasedBy", "Limits", "Outcome",
    "RateLimiter", "Retained", "SlidingWindowLimiter", "awaiting_callback", "done",
    "egress_violation", "format_partner_ref", "json_body", "manual", "no_data",
    "parse_partner_ref", "refuse", "retained", "retry_after_seconds", "unstorable",
    "until_problem",
]

# A Swedish personnummer/samordningsnummer, with or without century and separator.
PERSONNUMMER_RE = re.compile(r"(?<!\d)(?:19|20)?\d{2}[01]\d[0-3]\d[-+]?\d{4}(?!\d)")
EMAIL_RE = re.compile(r"[^@\s\"']+@[^@\s\"']+\.[A-Za-z]{2,}")
# A UUID (a task id, a partner reference) is an identifier of ours, never personal data, but
# its digit groups can look like a personnummer ("19850412-1234-..."): it is skipped.
UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# -- egress -------------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def egress_violation(payload: Any, allow: Iterable[str] = ()) -> str | None:
    """Name what a payload carries that must not leave, or None if it may be sent."""
    allowed = set(allow)
    for raw in _strings(payload):
        if raw in allowed:
            continue
        text = UUID_RE.sub(" ", raw)
        if PERSONNUMMER_RE.search(text):
            return "a personnummer-shaped value"
        if EMAIL_RE.search(text):
            return "an e-mail-shaped value"
    return None


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_s: float = 10.0
    concurrency: int = 4
    rate: int = 0  # requests per ``per_s``; 0 = no limit
    per_s: float = 1.0


_DELTA_SECONDS = re.compile(r"\A[0-9]{1,12}\Z")


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: delta-seconds or an HTTP date); None if it is
    neither. Only plain digits count as seconds ("1e20", "nan", "-5" are garbage); the
    dispatcher caps whatever comes out at ``DSR_RETRY_AFTER_CAP_S``."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.match(value):
        return float(int(value))
    if len(value) > 64:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except OverflowError:  # pragma: no cover - parsedate bounds years already
        return None


class RateLimiter(Protocol):
    """Admits calls at a partner's rate; ``acquire`` returns when one may be sent."""

    async def acquire(self) -> Any:
        ...


class SlidingWindowLimiter:
    """At most ``rate`` calls in any trailing ``per_s`` seconds, as partners with a quota count.

    A leaky bucket (which lets a full burst through and then refills) admits up to twice the
    limit within one window and earns 429s; this keeps the call times of the current window
    and waits for the oldest to leave it. ``margin_s`` allows for the partner seeing a call a
    little later than we sent it.
    """

    def __init__(self, rate: int, per_s: float, *, margin_s: float = 0.1) -> None:
        self.rate = rate
        self.window = per_s + margin_s
        self._calls: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:  # callers queue in order; one sleeps for the window at a time
            while True:
                now = loop.time()
                while self._calls and now - self._calls[0] >= self.window:
                    self._calls.popleft()
                if len(self._calls) < self.rate:
                    self._calls.append(now)
                    return
                await asyncio.sleep(self.window - (now - self._calls[0]))


class Egress:
    """The one path from a connector to its partner."""

    def __init__(
        self, client: httpx.AsyncClient, *, system: str, base_url: str, limits: Limits,
        limiter: RateLimiter | None = None, owns_client: bool = False,
    ) -> None:
        """``limiter`` paces the calls (the runtime passes one shared by every process);
        without one, a rate in ``limits`` is kept by this process alone. ``owns_client``:
        :meth:`aclose` closes the client (a pool of this partner's own)."""
        self.client = client
        self.owns_client = owns_client
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._rate: RateLimiter | None = limiter or (
            SlidingWindowLimiter(limits.rate, limits.per_s) if limits.rate else None)

    async def aclose(self) -> None:
        if self.owns_client:
            await self.client.aclose()

    async def request(
        self, method: str, path: str, *, call: Call | None = None, json: Any = None,
        data: dict[str, str] | None = None, params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None, allow: Iterable[str] = (),
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; 429/5xx/timeouts raise ``TransientError``, the rest is returned."""
        violation = egress_violation([json, data, params, path], allow)
        if violation is not None:
            raise PermanentError(
                f"Egress check refused to send {violation} to {self.system}; nothing was sent."
            )
        sent_headers = dict(headers or {})
        if call is not None and method.upper() != "GET":
            sent_headers.setdefault("Idempotency-Key", call.idempotency_key)
        if call is not None and call.as_of is not None:
            sent_headers["Sandbox-As-Of"] = call.as_of.isoformat()
        async with self._slots:
            if self._rate is not None:
                await self._rate.acquire()
            try:
                response = await self.client.request(
                    method, self.base_url + path, json=json, data=data, params=params,
                    headers=sent_headers, auth=auth or httpx.USE_CLIENT_DEFAULT,
                    timeout=self.limits.timeout_s,
                )
            except (httpx.ConnectTimeout, httpx.PoolTimeout):
                raise TransientError(f"{self.system} could not be reached in time") from None
            except httpx.TimeoutException:
                # The call was sent and no answer came: the partner may have applied it.
                raise MaybeDelivered(f"{self.system} did not answer in time") from None
            except httpx.ConnectError:
                raise TransientError(f"{self.system} could not be reached") from None
            except httpx.TransportError:
                raise MaybeDelivered(f"{self.system} could not be reached") from None
        if response.status_code == 429:
            raise Throttled(
                f"{self.system} is rate limiting (429)",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500:
            kind = MaybeDelivered if method.upper() != "GET" else TransientError
            raise kind(
                f"{self.system} answered {response.status_code}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        return response


MAX_JSON_DEPTH = 32  # no partner answer of the protocols nests deeper


def json_body(response: httpx.Response, system: str) -> Any:
    """The response's JSON, or a permanent error naming the partner's malformed answer: not
    JSON, nested past :data:`MAX_JSON_DEPTH` (a parser would recurse until it crashed), or
    holding a NUL character, which no database column can store."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        raise PermanentError(
            f"{system} answered {response.status_code} with malformed JSON"
        ) from None
    problem = unstorable(body)
    if problem is not None:
        raise PermanentError(f"{system} answered {response.status_code} with JSON {problem}")
    return body


def unstorable(value: Any) -> str | None:
    """Why a decoded JSON value cannot be kept ("nested too deep", "holding a NUL
    character"), or None. Iterative, so no depth makes it recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "holding a NUL character"
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                if any("\x00" in key for key in item):
                    return "holding a NUL character"
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def refuse(response: httpx.Response, system: str, reason: str | None = None) -> PermanentError:
    """A permanent error for a 4xx the connector does not handle."""
    return PermanentError(
        f"{system} refused the call ({response.status_code})" + (f": {reason}" if reason else "")
    )
