"""Synthetic sandbox customers (``DSR_SANDBOX_CUSTOMERS=N``): many invented people for load.

Customer ``i`` (1-based) is ``C-{100000 + i}`` (C-100001, C-100002...), the demo customers'
numbering with room for :data:`MAX_CUSTOMERS`, so it never meets C-1001..C-1004. Everything
about it is derived from ``i`` alone, so every start seeds the same people: a name built from
invented surnames, a personnummer in Skatteverket's test-number style (serial 98x, valid
check digit), an address in Växjö, an ``example.se`` e-mail, documentation-range IP
addresses, and counterparts from PTS's series for fiction. Each is an active fibre and
telephony customer with records in every sandbox partner (register, invoicing, city network,
number portability, directory), and every tenth also has an installation order, so every
right finds something everywhere; :func:`synthetic_links` is what the service registers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.sandbox.models import (
    Address,
    Consent,
    Contract,
    CrmCustomer,
    EniroListing,
    FortnoxCustomer,
    IpEntry,
    Service,
    SnpacNumber,
    StadsnatConnection,
    iso,
)
from app.sandbox.seed import OPERATOR, SeedData, _billing, _invoices, _month_start, call_history

MAX_CUSTOMERS = 50_000
FIRST = 100_000  # customer i is C-{FIRST + i}
INSTALLER = "Växjö Fiberinstallation AB"
_FIRST_NAMES = ("Anna", "Lars", "Karin", "Per", "Eva", "Nils", "Ingrid", "Olof", "Greta",
                "Johan", "Sara", "Gustav", "Elin", "Anders", "Linnea", "Magnus", "Ebba", "Ove")
_SURNAME_STEMS = ("Exempel", "Prov", "Test", "Demo", "Fiktiv", "Sandlåde", "Övnings", "Mall")
_SURNAME_ENDS = ("sson", "berg", "lund", "ström", "dahl", "qvist", "gren", "holm")
_STREETS = ("Storgatan", "Linnégatan", "Kungsgatan", "Sandsbrovägen", "Norra Esplanaden",
            "Södra Järnvägsgatan", "Hejaregatan", "Västra Esplanaden", "Liedbergsgatan")


def customer_number(i: int) -> str:
    """The synthetic customer ``i``'s number (1-based)."""
    return f"C-{FIRST + i}"


def _check_digit(digits: str) -> int:
    """The Luhn check digit Skatteverket appends to the ten-digit personnummer."""
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def personnummer(i: int) -> str:
    """A test-style personnummer: birth date from ``i // 10``, serial 98 and ``i % 10``."""
    born = date(1950, 1, 1) + timedelta(days=(i // 10) * 7 % 20_000)
    serial = f"98{i % 10}"
    stem = f"{born:%y%m%d}{serial}"
    return f"{born:%Y%m%d}-{serial}{_check_digit(stem)}"


def _phone(i: int) -> str:
    return f"+4647099{i:05d}"


def synthetic_links(count: int) -> dict[str, dict[str, str]]:
    """Every synthetic customer's link in every system that holds some of its data."""
    links: dict[str, dict[str, str]] = {}
    for i in range(1, count + 1):
        number = FIRST + i
        systems = {"crm": f"C-{number}", "stadsnat": f"SN-{number}", "fortnox": str(number),
                   "snpac": _phone(i), "eniro": f"HIT-S{number}"}
        if i % 10 == 0:
            systems["installer"] = f"ORD-{number}"
        links[f"C-{number}"] = systems
    return links


def seed_synthetic(data: SeedData, now: datetime, count: int) -> None:
    """Add ``count`` synthetic customers to ``data``, dated relative to ``now``."""
    if not 0 <= count <= MAX_CUSTOMERS:
        raise ValueError(f"synthetic customers must be 0..{MAX_CUSTOMERS}")
    months = [_month_start(now, k) for k in (2, 1)]
    day = timedelta(days=1)
    for i, (number, systems) in enumerate(synthetic_links(count).items(), start=1):
        first = _FIRST_NAMES[i % len(_FIRST_NAMES)]
        last = (_SURNAME_STEMS[(i // 7) % len(_SURNAME_STEMS)]
                + _SURNAME_ENDS[(i // 3) % len(_SURNAME_ENDS)])
        name, pnr, phone = f"{first} {last}", personnummer(i), systems["snpac"]
        email = f"{first.lower()}.{last.lower()}.{i}@example.se"
        address = Address(f"{_STREETS[i % len(_STREETS)]} {1 + i % 60}",
                          f"352 {30 + i % 60:02d}", "Växjö")
        started = datetime(2015, 1, 5, 9, 0, tzinfo=UTC) + timedelta(days=i % 3000)
        fortnox_number = systems["fortnox"]
        invoices = _invoices(fortnox_number, 10 * (FIRST + i), months, unpaid_last=i % 5 == 0)
        orders = ([{"order_id": systems["installer"], "installer": INSTALLER,
                    "at": iso(started)}] if "installer" in systems else [])
        data.crm[number] = CrmCustomer(
            customer_number=number, name=name, personnummer=pnr, email=email, phone=phone,
            address=address, contract=Contract("active", started),
            services=[Service(systems["stadsnat"], "fibre_broadband_250", started),
                      Service(f"TEL-{phone.removeprefix('+46')}", "ip_telephony", started)],
            consents=[Consent("marketing", i % 2 == 0, started),
                      Consent("directory_listing", True, started)],
            sources=["self", "SPAR", "call_history"],
            order_ip_log=[IpEntry(f"198.51.100.{i % 254 + 1}", now - timedelta(hours=3))],
            call_history=call_history(number, 3, now, days=30),
            billing=_billing(invoices),
            service_contacts=[{"at": iso(now - (i % 90) * day), "channel": "phone",
                               "topic": "invoice_question"}],
            ip_log=[{"ip": f"203.0.113.{i % 254 + 1}",
                     "assigned_at": iso(now - timedelta(hours=6))}],
            installation_orders=orders,
        )
        data.fortnox_customers[fortnox_number] = FortnoxCustomer(
            fortnox_number, name, email, phone, address.street, address.postal_code,
            address.city, pnr)
        data.fortnox_invoices.extend(invoices)
        data.stadsnat[systems["stadsnat"]] = StadsnatConnection(
            systems["stadsnat"], Address(address.street, address.postal_code, address.city),
            f"VXO-NOD{i % 9 + 1}-ODF{i % 4 + 1}:{i % 48 + 1}", "Fiber 250/250", "active",
            [{"event": "activated", "at": started.date().isoformat()}])
        data.snpac[phone] = SnpacNumber(
            phone, OPERATOR, "active",
            [{"from_operator": "Telia", "to_operator": OPERATOR, "at": started.date().isoformat()}])
        data.eniro[systems["eniro"]] = EniroListing(
            systems["eniro"], name, phone, Address(address.street, address.postal_code,
                                                   address.city))
