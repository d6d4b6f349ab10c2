"""The sandbox's demo customers: fictitious people with data spread over every partner.

Everything here is invented. Personnummer use Skatteverket's test-number style (serial 98xx,
valid check digit), IP addresses come from the documentation ranges (RFC 5737/3849), e-mail
addresses use example.se/example.com, and the other party of every call uses the number series
PTS reserves for fiction (070-174 06 05 to 070-174 06 99). Dates are relative to the moment of
seeding so that "ended two months ago" and "IP log younger than 24 h" stay true whenever the
sandbox starts.

:data:`DEMO_LINKS` is what the service registers as the customers' pseudonymous links: the
links table is the record of who holds a customer's data, so every system that holds some has
one, the installation company too (keyed by the installation order's id, which the register's
``installation_orders`` names).
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, SupportsIndex, overload

from app.sandbox.models import (
    Address,
    BillingRecord,
    CallRecord,
    Consent,
    Contract,
    CrmCustomer,
    EniroListing,
    FortnoxCustomer,
    FortnoxInvoice,
    IpEntry,
    Service,
    SnpacNumber,
    StadsnatConnection,
    iso,
)

OPERATOR = "Connect2IP"
INSTALLATION_ORDER = "ORD-88001"  # C-1001's installation, by Växjö Fiberinstallation AB
PAYMENT_TERMS_DAYS = 30  # an invoice falls due this many days after its date

DEMO_LINKS: dict[str, dict[str, str]] = {
    "C-1001": {
        "crm": "C-1001", "stadsnat": "SN-440017", "fortnox": "1001", "snpac": "+46470123456",
        "eniro": "HIT-7K2P9Q", "installer": INSTALLATION_ORDER,
    },
    "C-1002": {"crm": "C-1002", "stadsnat": "SN-440233", "fortnox": "1002"},
    "C-1003": {"crm": "C-1003", "fortnox": "1003"},
    # A customer with a very long call history (1,000,000 rows), only in the own register.
    "C-1004": {"crm": "C-1004"},
}
LARGE_HISTORY_ROWS = 1_000_000


@dataclass
class SeedData:
    crm: dict[str, CrmCustomer] = field(default_factory=dict)
    fortnox_customers: dict[str, FortnoxCustomer] = field(default_factory=dict)
    fortnox_invoices: list[FortnoxInvoice] = field(default_factory=list)
    stadsnat: dict[str, StadsnatConnection] = field(default_factory=dict)
    snpac: dict[str, SnpacNumber] = field(default_factory=dict)
    eniro: dict[str, EniroListing] = field(default_factory=dict)


def _month_start(now: datetime, months_back: int) -> date:
    year, month = now.year, now.month - months_back
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, 1)


def call_history(customer_number: str, count: int, end: datetime, days: int) -> list[CallRecord]:
    """``count`` calls and texts over the ``days`` before ``end``, the same on every run."""
    rng = random.Random(f"sandbox-call-history-{customer_number}")  # noqa: S311 - not crypto
    rows: list[tuple[datetime, str, str, str, int | None]] = []
    for _ in range(count):
        at = end - timedelta(seconds=rng.randint(600, days * 86400))
        kind = "sms" if rng.random() < 0.3 else "call"
        duration = None if kind == "sms" else rng.randint(5, 1800)
        direction = rng.choice(("in", "out"))
        counterpart = f"+4670174{rng.randint(605, 699):04d}"
        rows.append((at.replace(microsecond=0), direction, kind, counterpart, duration))
    rows.sort(key=lambda row: row[0])
    suffix = customer_number.removeprefix("C-")
    return [
        CallRecord(f"CH-{suffix}-{i:04d}", at, direction, kind, counterpart, duration,
                   withheld=direction == "in" and _withheld(f"CH-{suffix}-{i:04d}"))
        for i, (at, direction, kind, counterpart, duration) in enumerate(rows, start=1)
    ]


def _withheld(row_id: str) -> bool:
    """About one incoming call in seven comes from a caller who withheld the number."""
    digest = hashlib.blake2b(f"withheld:{row_id}".encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % 7 == 0


class GeneratedCallHistory(Sequence[CallRecord]):
    """A call history computed row by row on demand and never stored (C-1004's million rows).

    It stands where the register keeps a customer's sequence of calls; every operation the
    register uses (``len``, iteration, slicing, :meth:`position`, :meth:`since`) is answered
    from the row number: row ``i`` is derived from a hash of the customer number and ``i``, so
    every page is the same on every run. Rows are in time order; ``lo``/``hi`` select a window.
    """

    def __init__(self, customer_number: str, count: int, end: datetime, days: int,
                 lo: int = 0, hi: int | None = None) -> None:
        self.customer_number, self.total, self.end, self.days = customer_number, count, end, days
        self.lo, self.hi = lo, count if hi is None else hi
        self._step = max(1, days * 86400 // max(1, count))
        self._start = end - timedelta(seconds=self._step * count)
        self._suffix = customer_number.removeprefix("C-")

    def record(self, i: int) -> CallRecord:
        """Row ``i`` of the whole history (0-based)."""
        digest = hashlib.blake2b(f"{self.customer_number}:{i}".encode(), digest_size=8).digest()
        h = int.from_bytes(digest, "big")
        kind = "sms" if h % 10 < 3 else "call"
        direction = "in" if (h >> 8) & 1 else "out"
        return CallRecord(
            f"CH-{self._suffix}-{i + 1:07d}", self._at(i, h),
            direction, kind, f"+4670174{605 + (h >> 16) % 95:04d}",
            None if kind == "sms" else 5 + (h >> 24) % 1796,
            withheld=direction == "in" and (h >> 48) % 7 == 0,
        )

    def _at(self, i: int, h: int | None = None) -> datetime:
        if h is None:
            digest = hashlib.blake2b(f"{self.customer_number}:{i}".encode(), digest_size=8)
            h = int.from_bytes(digest.digest(), "big")
        return self._start + timedelta(seconds=i * self._step + (h >> 40) % self._step)

    def __len__(self) -> int:
        return max(0, self.hi - self.lo)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[CallRecord]:
        return (self.record(i) for i in range(self.lo, self.hi))

    @overload
    def __getitem__(self, index: SupportsIndex) -> CallRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[CallRecord]: ...
    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return [self.record(self.lo + i) for i in range(start, stop, step)]
        i = index.__index__()
        i = i + len(self) if i < 0 else i
        if not 0 <= i < len(self):
            raise IndexError("call history index out of range")
        return self.record(self.lo + i)

    def __repr__(self) -> str:
        return f"GeneratedCallHistory({self.customer_number!r}, rows {self.lo}..{self.hi})"

    def position(self, row_id: str) -> int:
        """The window position of the row with this id; ``ValueError`` if it is not here."""
        prefix = f"CH-{self._suffix}-"
        number = row_id.removeprefix(prefix)
        if number == row_id or not number.isdigit():
            raise ValueError("not a row of this history")
        i = int(number) - 1
        if not self.lo <= i < self.hi:
            raise ValueError("not a row of this history")
        return i - self.lo

    def since(self, moment: datetime) -> GeneratedCallHistory:
        """The rows at or after ``moment`` (the rest is erased), still never stored."""
        keys = range(self.lo, self.hi)
        first = self.lo + bisect.bisect_left(keys, moment, key=self._at)
        return GeneratedCallHistory(self.customer_number, self.total, self.end, self.days,
                                    first, self.hi)


def _invoices(
    customer_number: str, first_doc: int, dates: list[date], unpaid_last: bool = False
) -> list[FortnoxInvoice]:
    invoices = []
    for i, invoice_date in enumerate(dates):
        total = 449.0 if i % 2 else 399.0
        unpaid = unpaid_last and i == len(dates) - 1
        invoices.append(FortnoxInvoice(
            document_number=str(first_doc + i), customer_number=customer_number,
            invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=PAYMENT_TERMS_DAYS),
            total=total, balance=total if unpaid else 0.0,
        ))
    return invoices


def _billing(invoices: list[FortnoxInvoice]) -> list[BillingRecord]:
    return [
        BillingRecord(inv.document_number, inv.invoice_date, inv.total, inv.balance == 0,
                      inv.due_date)
        for inv in invoices
    ]


def _contacts(
    now: datetime, started: datetime, *, with_telephony: bool, installer: str | None
) -> dict[str, Any]:
    """The rest of what the register holds about a demo customer (see CrmCustomer)."""
    day = timedelta(days=1)
    found: dict[str, Any] = {
        "support_tickets": [
            {"ticket_id": "FEL-20871", "opened_at": iso(now - 40 * day), "kind": "fault_report",
             "subject": "Ingen anslutning sedan i morse", "status": "closed",
             "closed_at": iso(now - 39 * day)},
        ],
        "service_contacts": [
            {"at": iso(now - 40 * day), "channel": "phone", "topic": "fault_report"},
            {"at": iso(now - 12 * day), "channel": "email", "topic": "invoice_question"},
        ],
        "email_log": [
            {"at": iso(now - 3 * day), "direction": "in", "peer_domain": "connect2ip.se",
             "size_bytes": 18_204},
        ],
        "ip_log": [  # addresses handed out to the connection; none older than 24 hours
            {"ip": "198.51.100.23", "assigned_at": iso(now - timedelta(hours=20))},
        ],
        "credit_checks": [
            {"at": iso(started - day), "bureau": "UC", "result": "approved",
             "reference": "UC-7741-2291"},
        ],
        "website_visits": [
            {"at": iso(now - 2 * day), "page": "Mina sidor: fakturor"},
        ],
    }
    if not with_telephony:
        found["email_log"] = []
    if installer:
        found["installation_orders"] = [
            {"order_id": INSTALLATION_ORDER, "installer": installer, "at": iso(started)}]
    return found


def seed(now: datetime | None = None) -> SeedData:
    """A fresh copy of the demo data, dated relative to ``now``."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    data = SeedData()
    _seed_active(data, now)
    _seed_recently_ended(data, now)
    _seed_locked(data, now)
    _seed_large(data, now)
    return data


def _seed_active(data: SeedData, now: datetime) -> None:
    """C-1001: active, data in every system, marketing consent given."""
    started = datetime(2021, 3, 15, 9, 0, tzinfo=UTC)
    address = Address("Storgatan 12 A", "352 31", "Växjö")
    invoices = _invoices("1001", 5101, [_month_start(now, k) for k in (3, 2, 1)])
    data.crm["C-1001"] = CrmCustomer(
        customer_number="C-1001", name="Astrid Exempelsson", personnummer="19850412-9803",
        email="astrid.exempelsson@example.se", phone="+46470123456", address=address,
        contract=Contract("active", started),
        services=[
            Service("SN-440017", "fibre_broadband_1000", started),
            Service("TEL-470123456", "ip_telephony", started + timedelta(days=5)),
        ],
        consents=[
            Consent("marketing", True, started),
            Consent("directory_listing", True, started),
            Consent("analytics", False, started),
        ],
        sources=["self", "SPAR", "UC", "call_history"],
        order_ip_log=[
            IpEntry("192.0.2.41", now - timedelta(hours=5)),
            IpEntry("2001:db8:470::17", now - timedelta(hours=2)),
        ],
        call_history=call_history("C-1001", 50, now, days=60),
        billing=_billing(invoices),
        **_contacts(now, started, with_telephony=True, installer="Växjö Fiberinstallation AB"),
    )
    data.fortnox_customers["1001"] = FortnoxCustomer(
        "1001", "Astrid Exempelsson", "astrid.exempelsson@example.se", "+46470123456",
        address.street, address.postal_code, address.city, "19850412-9803",
    )
    data.fortnox_invoices.extend(invoices)
    data.stadsnat["SN-440017"] = StadsnatConnection(
        "SN-440017", Address(address.street, address.postal_code, address.city),
        "VXO-NOD3-ODF2:17", "Fiber 1000/1000", "active",
        [{"event": "ordered", "at": "2021-03-15"}, {"event": "activated", "at": "2021-03-22"},
         {"event": "speed_change", "at": "2023-09-01"}],
    )
    data.snpac["+46470123456"] = SnpacNumber(
        "+46470123456", OPERATOR, "active",
        [{"from_operator": "Telia", "to_operator": OPERATOR, "at": "2021-03-20"}],
    )
    data.eniro["HIT-7K2P9Q"] = EniroListing(
        "HIT-7K2P9Q", "Astrid Exempelsson", "+46470123456",
        Address(address.street, address.postal_code, address.city),
    )


def _seed_recently_ended(data: SeedData, now: datetime) -> None:
    """C-1002: contract ended about two months ago; the final invoice is still unpaid."""
    started = datetime(2019, 6, 3, 9, 0, tzinfo=UTC)
    ended = (now - timedelta(days=61)).replace(hour=0, minute=0, second=0)
    address = Address("Linnégatan 5", "352 33", "Växjö")
    invoices = _invoices("1002", 4870, [_month_start(now, k) for k in (5, 4, 3, 2)], True)
    data.crm["C-1002"] = CrmCustomer(
        customer_number="C-1002", name="Erik Provsson", personnummer="19720918-9815",
        email="erik.provsson@example.com", phone="+46470654321", address=address,
        contract=Contract("ended", started, ended),
        services=[Service("SN-440233", "fibre_broadband_250", started)],
        consents=[Consent("marketing", False, started)],
        sources=["self", "SPAR", "UC"],
        billing=_billing(invoices),
        **_contacts(ended, started, with_telephony=False, installer=None),
    )
    data.fortnox_customers["1002"] = FortnoxCustomer(
        "1002", "Erik Provsson", "erik.provsson@example.com", "+46470654321",
        address.street, address.postal_code, address.city, "19720918-9815",
    )
    data.fortnox_invoices.extend(invoices)
    data.stadsnat["SN-440233"] = StadsnatConnection(
        "SN-440233", Address(address.street, address.postal_code, address.city),
        None, "Fiber 250/250", "terminated",
        [{"event": "activated", "at": "2019-06-10"},
         {"event": "terminated", "at": ended.date().isoformat()}],
    )


def _seed_locked(data: SeedData, now: datetime) -> None:
    """C-1003: contract ended over six months ago, so the register keeps it locked."""
    started = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)
    ended = (now - timedelta(days=230)).replace(hour=0, minute=0, second=0)
    address = Address("Sandsbrovägen 3", "352 45", "Växjö")
    invoice_dates = [_month_start(ended, k) for k in (2, 1, 0)]
    invoices = _invoices("1003", 3990, invoice_dates)
    data.crm["C-1003"] = CrmCustomer(
        customer_number="C-1003", name="Maja Testberg", personnummer="19930227-9824",
        email="maja.testberg@example.se", phone="+46470987650", address=address,
        contract=Contract("ended", started, ended),
        services=[Service("SN-440871", "fibre_broadband_100", started)],
        consents=[Consent("marketing", False, started)],
        sources=["self", "SPAR", "UC", "call_history"],
        call_history=call_history("C-1003", 12, ended, days=90),
        billing=_billing(invoices),
    )
    data.fortnox_customers["1003"] = FortnoxCustomer(
        "1003", "Maja Testberg", "maja.testberg@example.se", "+46470987650",
        address.street, address.postal_code, address.city, "19930227-9824",
    )
    data.fortnox_invoices.extend(invoices)


def _seed_large(data: SeedData, now: datetime) -> None:
    """C-1004: active telephony customer with a million calls (generated, never stored)."""
    started = datetime(2016, 9, 1, 9, 0, tzinfo=UTC)
    address = Address("Kungsgatan 20", "352 30", "Växjö")
    invoices = _invoices("1004", 6200, [_month_start(now, k) for k in (2, 1)])
    data.crm["C-1004"] = CrmCustomer(
        customer_number="C-1004", name="Sven Volymsson", personnummer="19790314-9826",
        email="sven.volymsson@example.se", phone="+46470555120", address=address,
        contract=Contract("active", started),
        services=[Service("TEL-470555120", "ip_telephony", started)],
        consents=[Consent("marketing", False, started)],
        sources=["self", "SPAR", "UC", "call_history"],
        call_history=GeneratedCallHistory("C-1004", LARGE_HISTORY_ROWS, now, days=365),
        billing=_billing(invoices),
    )
