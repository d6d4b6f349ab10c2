"""The records each simulated partner keeps, as plain dataclasses.

They live only in memory (one :class:`~app.sandbox.state.SandboxState` per sandbox app) and
are rendered to each partner's own wire shape by its router, so the shapes here are the
sandbox's internal truth rather than any protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

ContractStatus = Literal["active", "ended"]
JobStatus = Literal["pending", "in_progress", "completed", "cancelled"]


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 text, with ``Z`` for UTC datetimes (what every partner here emits)."""
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z")


@dataclass
class Address:
    street: str
    postal_code: str
    city: str

    def as_dict(self) -> dict[str, str]:
        return {"street": self.street, "postal_code": self.postal_code, "city": self.city}


# -- crm: the own register -----------------------------------------------------------------------


@dataclass
class Contract:
    status: ContractStatus
    started_at: datetime
    ended_at: datetime | None = None


@dataclass
class Service:
    service_id: str
    kind: str
    since: datetime


@dataclass
class Consent:
    purpose: str
    given: bool
    at: datetime


@dataclass
class IpEntry:
    ip: str
    at: datetime


@dataclass
class CallRecord:
    id: str
    at: datetime
    direction: str  # "in" | "out"
    kind: str  # "call" | "sms"
    counterpart: str
    duration_s: int | None
    # The caller withheld their number: the register knows it, the customer may not see it
    # (art. 15(4), the rights of others).
    withheld: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": iso(self.at), "direction": self.direction, "kind": self.kind,
            "counterpart": self.counterpart, "duration_s": self.duration_s,
            "withheld": self.withheld,
        }


@dataclass
class BillingRecord:
    """Accounting data: kept seven years whatever else is erased (Bokföringslagen)."""

    invoice_number: str
    invoice_date: date
    amount_sek: float
    paid: bool
    due_date: date | None = None  # None: the invoice date plus the usual payment terms

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_number": self.invoice_number, "invoice_date": iso(self.invoice_date),
            "due_date": iso(self.due_date), "amount_sek": self.amount_sek, "paid": self.paid,
        }


@dataclass
class CrmCustomer:
    customer_number: str
    name: str | None
    personnummer: str | None
    email: str | None
    phone: str | None
    address: Address | None
    contract: Contract
    services: list[Service] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    order_ip_log: list[IpEntry] = field(default_factory=list)
    call_history: Sequence[CallRecord] = field(default_factory=list)
    billing: list[BillingRecord] = field(default_factory=list)
    restricted: bool = False
    restricted_since: datetime | None = None
    restriction_grounds: str | None = None
    marketing_stopped: bool = False
    # Rectifiable fields an erasure emptied: the register never writes them back.
    erased_fields: set[str] = field(default_factory=set)
    # What else the policy says the company holds: fault reports and support tickets,
    # customer-service contacts, e-mail and IP logs (IPs under 24 h), UC credit checks,
    # visits to the website, and installation orders (which name the installation company).
    support_tickets: list[dict[str, Any]] = field(default_factory=list)
    service_contacts: list[dict[str, Any]] = field(default_factory=list)
    email_log: list[dict[str, Any]] = field(default_factory=list)
    ip_log: list[dict[str, Any]] = field(default_factory=list)
    credit_checks: list[dict[str, Any]] = field(default_factory=list)
    website_visits: list[dict[str, Any]] = field(default_factory=list)
    installation_orders: list[dict[str, Any]] = field(default_factory=list)


# -- fortnox ------------------------------------------------------------------------------------


@dataclass
class FortnoxCustomer:
    customer_number: str
    name: str
    email: str
    phone: str
    address: str
    zip_code: str
    city: str
    organisation_number: str
    active: bool = True

    # Fortnox field name -> attribute name, for the fields the API lets a client change.
    WRITABLE = {
        "Name": "name", "Email": "email", "Phone1": "phone", "Address1": "address",
        "ZipCode": "zip_code", "City": "city", "OrganisationNumber": "organisation_number",
        "Active": "active",
    }

    def as_fortnox(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@url": f"https://api.fortnox.se/3/customers/{self.customer_number}",
            "CustomerNumber": self.customer_number, "Type": "PRIVATE", "CountryCode": "SE",
            "Currency": "SEK",
        }
        for wire, attr in self.WRITABLE.items():
            body[wire] = getattr(self, attr)
        return body


@dataclass
class FortnoxInvoice:
    document_number: str
    customer_number: str
    invoice_date: date
    due_date: date
    total: float
    balance: float
    booked: bool = True
    cancelled: bool = False

    def as_fortnox(self) -> dict[str, Any]:
        return {
            "@url": f"https://api.fortnox.se/3/invoices/{self.document_number}",
            "DocumentNumber": self.document_number, "CustomerNumber": self.customer_number,
            "InvoiceDate": iso(self.invoice_date), "DueDate": iso(self.due_date),
            "Total": self.total, "Balance": self.balance, "Booked": self.booked,
            "Cancelled": self.cancelled, "Currency": "SEK",
        }


# -- the OpenDSR partners -----------------------------------------------------------------------


@dataclass
class StadsnatConnection:
    service_id: str
    address: Address | None
    port: str | None
    product: str
    status: str  # "active" | "terminated"
    activation_history: list[dict[str, Any]] = field(default_factory=list)
    restricted: bool = False


@dataclass
class SnpacNumber:
    number: str
    current_operator: str
    status: str  # "active" | "ported_out"
    porting_history: list[dict[str, Any]] = field(default_factory=list)
    booked_port: dict[str, Any] | None = None
    restricted: bool = False


@dataclass
class EniroListing:
    listing_id: str
    name: str | None
    phone: str | None
    address: Address | None
    listed: bool = True
    restricted: bool = False


@dataclass
class PartnerJob:
    """One OpenDSR request a partner accepted, and how it went."""

    system: str
    subject_request_id: str
    request_type: str
    link: str
    extensions: dict[str, Any]
    callback_url: str
    accepted: dict[str, Any]  # the 202 answer, repeated verbatim for a repeat POST
    identities: list[dict[str, Any]] = field(default_factory=list)  # echoed in every answer
    lose_callback: bool = False
    status: JobStatus = "pending"
    result: dict[str, Any] | None = None
    callback_status: int | None = None  # the service's answer to the last delivery attempt
