"""What every connector shares: the call it gets, the outcomes it returns, and the one egress path.

A connector knows one partner's API and nothing else. It receives a :class:`Call` holding the
pseudonymous link for its system (never the customer's personal data), makes its HTTP calls
through :class:`Egress`, and returns an :class:`Outcome` or raises
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
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx

from app.errors import MaybeDelivered, PermanentError, Throttled, TransientError
from app.models import RequestType, TaskStatus

# A Swedish personnummer/samordningsnummer, with or without century and separator.
PERSONNUMMER_RE = re.compile(r"(?<!\d)(?:19|20)?\d{2}[01]\d[0-3]\d[-+]?\d{4}(?!\d)")
EMAIL_RE = re.compile(r"[^@\s\"']+@[^@\s\"']+\.[A-Za-z]{2,}")
# A UUID (a task id, a partner reference) is an identifier of ours, never personal data, but
# its digit groups can look like a personnummer ("19850412-1234-..."): it is skipped.
UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class Call:
    """One task, as a connector sees it: identifiers and what to do, no personal data."""

    task_id: uuid.UUID
    request_id: uuid.UUID
    request_type: RequestType
    action: str
    link: str  # the customer's pseudonymous key in this system
    callback_url: str
    attempt: int = 1
    # A rectification's new values, already narrowed to the fields this system holds.
    changes: dict[str, str] = field(default_factory=dict)
    # Type-specific options: grounds, processing, receiving_operator, formats.
    options: dict[str, Any] = field(default_factory=dict)
    external_ref: str | None = None  # the partner's reference, once it has one
    system: str = ""
    # Which round of the task this is: 0 at first, +1 for each agent retry after a failure.
    dispatch_round: int = 0
    # An earlier erasure at this system for the same customer, if there was one: the
    # connector must not write personal data back (see :class:`ErasedBy`).
    erased_by: ErasedBy | None = None
    # False while the request is being cancelled or rejected: a partner that lost the job is
    # not sent it again, and answers "never received" instead.
    resend_if_lost: bool = True
    # Scheduled work's own parameters (a deferred erasure: the retained items and their dates).
    params: dict[str, Any] = field(default_factory=dict)
    # Set only by ``dsr retention run --as-of`` outside production: the date the run acts as
    # of, sent to sandbox partners as ``Sandbox-As-Of`` so they judge retention periods by it.
    as_of: date | None = None

    @property
    def partner_ref(self) -> str:
        """The id the partner knows this attempt by (its ``Idempotency-Key`` and
        ``subject_request_id``): the task id, with ``.<round>`` after an agent's retry, so a
        partner that answers a repeated id with its first answer still gets the retry."""
        return format_partner_ref(self.task_id, self.dispatch_round)

    @property
    def idempotency_key(self) -> str:
        return self.partner_ref


def format_partner_ref(task_id: uuid.UUID, dispatch_round: int) -> str:
    return str(task_id) if dispatch_round == 0 else f"{task_id}.{dispatch_round}"


def parse_partner_ref(value: Any) -> tuple[uuid.UUID, int] | None:
    """``"<uuid>"`` or ``"<uuid>.<round>"`` as (task id, round); None if it is neither."""
    if not isinstance(value, str) or len(value) > 48:
        return None
    head, dot, tail = value.partition(".")
    if dot and not (tail.isascii() and tail.isdigit() and 0 < len(tail) <= 6):
        return None
    try:
        task_id = uuid.UUID(head)
    except ValueError:
        return None
    if str(task_id) != head.lower():
        return None
    return task_id, (int(tail) if dot else 0)


@dataclass(frozen=True, slots=True)
class ErasedBy:
    """An erasure request that reached this system before the current request did."""

    request_id: uuid.UUID
    on: str  # ISO date the erasure finished there
    status: TaskStatus  # done (all erased) or retained (some kept by law)

    def summary(self) -> str:
        return f"Erased on {self.on} by request {self.request_id}"

    def outcome(self, text: str) -> Outcome:
        """``no_data`` for a write that would bring erased data back: nothing is written."""
        return Outcome(TaskStatus.no_data, f"{self.summary()}: {text}", code="erased_earlier",
                       params={"on": self.on, "request_id": str(self.request_id)})


@dataclass(frozen=True, slots=True)
class Retained:
    """Data kept back from erasure, with the law that requires it and when it goes."""

    category: str
    basis: str
    until: str | None  # ISO date; None = no date yet (while the contract runs, until paid)
    code: str | None = None  # what is kept, as a code the answer words (e.g. "invoices")
    basis_code: str | None = None  # the policy file's legal basis (e.g. "bookkeeping")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"category": self.category, "basis": self.basis,
                                "until": self.until}
        if self.code:
            body["code"] = self.code
        if self.basis_code:
            body["basis_code"] = self.basis_code
        return body


# The dates accepted for ``Retained.until``, from a partner or an agent: not before the day the
# request was received (a period already over is data that should be gone, not data kept) and
# not after LATEST_UNTIL. The longest period the service knows is Bokföringslagen's seven years
# after the fiscal year; 2100-12-31 leaves decades of room for any other law while refusing
# the impossible (9999-12-31, whose following day, when the deferred erasure is due, does not
# exist). A date outside the range is refused where it comes in: 422 for an agent; for a
# partner, the task fails with a reason saying so and nothing of the answer is kept.
LATEST_UNTIL = date(2100, 12, 31)


def until_problem(until: str | None, *, received: date | None = None) -> str | None:
    """Why a retained item's ``until`` is not accepted, or None if it is (null: no date yet).

    The reason names neither the value nor the item: a partner's date may be anything."""
    if until is None:
        return None
    try:
        day = date.fromisoformat(until)
    except (TypeError, ValueError):
        return "is not an ISO date (YYYY-MM-DD)"
    if day > LATEST_UNTIL:
        return f"is after {LATEST_UNTIL.isoformat()}, the latest date accepted"
    if received is not None and day < received:
        return f"is before the request was received ({received.isoformat()})"
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    status: TaskStatus
    summary: str = ""
    data: dict[str, Any] | None = None  # access/portability data: stored encrypted, apart
    retained: tuple[Retained, ...] = ()
    ref: str | None = None  # partner reference while awaiting its callback
    # The subject the partner says it answered about (its pseudonymous key); checked against
    # the link the task was sent with before anything of the answer is stored.
    subject: str | None = None
    # Cancelled after an attempt that may have reached the partner: whether it was applied
    # there is not known (the customer's answer says so).
    uncertain: bool = False
    # What happened as a code and parameters (ids, counts, dates, categories), which the
    # customer's answer words in Swedish or English; ``summary`` is the English log line.
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """What may be shown in the API and stored in the task row: no personal data."""
        body: dict[str, Any] = {"summary": self.summary}
        if self.code:
            body["code"], body["params"] = self.code, dict(self.params)
        if self.uncertain:
            body["uncertain"] = True
        if self.retained:
            body["retained"] = [item.as_dict() for item in self.retained]
        if self.data is not None:
            body["data_categories"] = sorted(self.data)
        return body


def done(summary: str, data: dict[str, Any] | None = None) -> Outcome:
    return Outcome(TaskStatus.done, summary, data)


def no_data(summary: str = "The system holds no data about the customer.") -> Outcome:
    return Outcome(TaskStatus.no_data, summary)


def retained(
    summary: str, items: Iterable[Retained], data: dict[str, Any] | None = None
) -> Outcome:
    return Outcome(TaskStatus.retained, summary, data, tuple(items))


def awaiting_callback(
    ref: str, summary: str = "Sent; waiting for the partner's answer."
) -> Outcome:
    return Outcome(TaskStatus.awaiting_callback, summary, ref=ref)


def manual(summary: str) -> Outcome:
    return Outcome(TaskStatus.manual, summary)


class Connector(Protocol):
    system: ClassVar[str]

    async def execute(self, call: Call) -> Outcome:
        """Carry the task out (or hand it to the partner); raise Transient/PermanentError."""
        ...

    async def poll(self, call: Call) -> Outcome | None:
        """Ask the partner how a handed-over task went; None while it is still running."""
        ...

    def parse_callback(self, payload: dict[str, Any]) -> tuple[uuid.UUID, int, Outcome]:
        """The task id, dispatch round and outcome in a partner's (verified) callback body.

        Raises ``PermanentError`` for a body that does not say which task or how it went.
        """
        ...


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
    """At most ``rate`` calls in any trailing ``per_s`` seconds, as partners like Fortnox count.

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
