"""The own register's erasure rules: what an erasure removes, and what it keeps, why and how long.

Every category the register holds about a customer (see :class:`CrmCustomer`) is either erased
or reported as retained, each item with a category ``code``, a ``basis_code`` and ``until``,
the LAST day it is kept (``None``: open-ended, while the contract is in force); the service
schedules the deferred erasure for the day after. Nothing is kept silently.

The reasoning, category by category, for a contract still in force (an ended contract keeps
only what a law or a claim needs):

- identity, address, contact details, services, the contract itself: needed to deliver and
  invoice the service (art. 6(1)(b)); no art. 17(1) ground applies while the contract runs.
  They go under the policy's post-contract rule (locked 6 months after the end, erased 12
  months after), so ``until`` is open.
- consents (marketing, directory, analytics): consent-based, so the erasure withdraws and
  erases them (art. 17(1)(b)); the ``marketing_stopped`` flag stays with the contract data so
  that no marketing starts again (art. 21(3)).
- website visits, the order IP log, the e-mail log, the IP log: not needed for the contract.
  The e-mail and IP logs are traffic data (LEK 9 kap.): erased once not needed for the
  transmission, and nothing in them is billed. The IP log is a record of the addresses the
  connection had; the address in use lives in the network, so erasing the log interrupts
  nothing (and the policy erases IP addresses within 24 hours anyway).
- support tickets: a closed ticket has done its job and goes; an open one is a fault still
  being handled under the contract and stays while it is open.
- customer-service contacts: a log of past calls and e-mails, which the contract does not need.
- the UC credit check: made for the decision to enter the contract; once the contract has
  started it has served that purpose and goes. Before the start it is a step taken at the
  customer's request before the contract (art. 6(1)(b)) and stays until then.
- the installation order: records where and by whom the connection being delivered was
  installed (fault handling, the installation's warranty), so it stays while the contract is
  in force. The installation company is asked separately (a manual task to the recipient).
- call history (traffic data, LEK 9 kap.): billing may keep what it needs until the invoice is
  paid or can no longer be disputed, at most while the claim can be pursued, which a consumer
  claim can for three years from the invoice's due date (preskriptionslagen (1981:130) 2 §).
  So the calls of a period not yet invoiced (a running contract) or invoiced and unpaid stay
  until that date; those of periods invoiced and paid go now.
- the sources list: where the data still held came from (art. 15(1)(g)); it is pruned to the
  sources of what is kept and goes with that data.
- invoices and payments: accounting records, kept under Bokföringslagen 7 kap. 2 § through 31
  December of the seventh year after the financial (calendar) year, whatever else goes.
- with an invoice unpaid after the contract ended: the debtor's name, personnummer and address
  stay for the claim (art. 17(3)(e)) until it is paid, at most through the limitation date;
  the contact details go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from app.sandbox.models import BillingRecord, CallRecord, CrmCustomer
from app.sandbox.seed import PAYMENT_TERMS_DAYS, GeneratedCallHistory

CONTRACT_BASIS = "GDPR art. 6(1)(b): the contract is in force, so no art. 17(1) ground applies"
ACCOUNTING_BASIS = "Bokföringslagen (1999:1078) 7 kap. 2 §; GDPR art. 17(3)(b)"
LIMITATION_BASIS = (
    "GDPR art. 17(3)(e): an unpaid invoice is a legal claim, kept until it is paid and at most "
    "until it is time-barred (preskriptionslagen (1981:130) 2 §: three years for a consumer "
    "claim, from the due date)")
TRAFFIC_BILLING_BASIS = (
    "Lag (2022:482) om elektronisk kommunikation 9 kap.: traffic data needed for billing, kept "
    "until the invoice is paid or can no longer be disputed, at most until the claim is "
    "time-barred (preskriptionslagen (1981:130) 2 §)")
# The invoices are booked under the customer number and the contract period they bill.
ACCOUNTING_CATEGORY = ("accounting records (invoices and payments, with the customer number and "
                       "contract period they refer to)")
RECTIFIABLE = ("name", "address", "postal_code", "city", "email", "phone")
# The register bills a month's calls on the invoice dated the first of the next month.
CLAIM_YEARS = 3  # preskriptionslagen 2 § second paragraph: a consumer claim


def claim_until(due: date) -> date:
    """The last day a consumer claim can be pursued: three years from its due date."""
    return due + relativedelta(years=CLAIM_YEARS)


def due_date(record: BillingRecord) -> date:
    return record.due_date or record.invoice_date + timedelta(days=PAYMENT_TERMS_DAYS)


def billing_until(record: BillingRecord) -> date:
    """The last day one accounting record must be kept (Bokföringslagen 7 kap. 2 §)."""
    return date(record.invoice_date.year + 7, 12, 31)


def accounting_until(customer: CrmCustomer) -> str | None:
    """The last day the customer's accounting records are kept: the latest record's."""
    if not customer.billing:
        return None
    return max(billing_until(record) for record in customer.billing).isoformat()


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return _month(day) + relativedelta(months=1)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


class Billing:
    """Which calls billing still needs, judged from the register's own invoices."""

    def __init__(self, customer: CrmCustomer) -> None:
        self.active = customer.contract.status == "active"
        self.by_date = {record.invoice_date: record for record in customer.billing}
        latest = max(self.by_date, default=None)
        # the first period no invoice has billed yet (a running contract bills it later)
        self.unbilled_from = _month(latest) if latest else date.min

    def invoice(self, period: date) -> BillingRecord | None:
        return self.by_date.get(_next_month(period))

    def needed(self, period: date) -> bool:
        """A period's calls are needed while its invoice is unpaid or (a contract still
        running) not yet raised."""
        invoice = self.invoice(period)
        if invoice is not None:
            return not invoice.paid
        return self.active and period >= self.unbilled_from

    def until(self, period: date) -> date:
        """The last day the period's calls may be kept: its invoice's claim limitation."""
        invoice = self.invoice(period)
        due = due_date(invoice) if invoice else \
            _next_month(period) + timedelta(days=PAYMENT_TERMS_DAYS)
        return claim_until(due)


def _keep_calls(history: Sequence[CallRecord], keep: Callable[[date], bool],
                first_kept: date | None) -> Sequence[CallRecord]:
    """The calls of the periods ``keep`` accepts. A generated history is a window and is cut
    at the first kept period (it may keep paid months between two kept ones)."""
    if isinstance(history, GeneratedCallHistory):
        if first_kept is None:
            return history.since(datetime.max.replace(tzinfo=UTC))
        return history.since(_moment(first_kept))
    return [call for call in history if keep(_month(call.at.date()))]


def _periods(history: Sequence[CallRecord]) -> list[date]:
    """The months the history spans (a generated one by its ends: no row is stored)."""
    if not history:
        return []
    first, last = _month(history[0].at.date()), _month(history[-1].at.date())
    months, month = [], first
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def _item(code: str, category: str, basis: str, basis_code: str,
          until: date | str | None) -> dict[str, Any]:
    return {"category": category, "basis": basis,
            "until": until.isoformat() if isinstance(until, date) else until,
            "code": code, "basis_code": basis_code}


class _Answer:
    def __init__(self) -> None:
        self.erased: list[tuple[str, str]] = []  # (code, label)
        self.retained: list[dict[str, Any]] = []

    def erase(self, code: str, label: str) -> None:
        self.erased.append((code, label))

    def body(self) -> dict[str, Any]:
        return {"erased": [label for _, label in self.erased],
                "erased_codes": [code for code, _ in self.erased],
                "retained": self.retained}


_ALWAYS_ERASED = (  # (attribute, code, label): nothing the register keeps needs them
    ("website_visits", "website_visits", "website visits"),
    ("email_log", "email_log", "e-mail log"),
    ("ip_log", "ip_log", "IP log"),
    ("service_contacts", "service_contacts", "customer-service contacts"),
)


def erase(customer: CrmCustomer, now: datetime) -> dict[str, Any]:
    """Apply the register's erasure rules; what is kept is listed with its basis and date."""
    answer = _Answer()
    active = customer.contract.status == "active"
    if customer.consents:
        answer.erase("consents", "consents")
        customer.consents = []
    customer.marketing_stopped = True
    if customer.order_ip_log:
        answer.erase("order_ip_log", "order IP log")
        customer.order_ip_log = []
    for attribute, code, label in _ALWAYS_ERASED:
        if getattr(customer, attribute):
            answer.erase(code, label)
            setattr(customer, attribute, [])
    _erase_tickets(customer, answer, active)
    _erase_credit_checks(customer, answer, now, active)
    if customer.installation_orders:
        if active:
            answer.retained.append(_item(
                "installation_order", "installation order (installer, date)", CONTRACT_BASIS,
                "contract_in_force", None))
        else:
            answer.erase("installation_orders", "installation orders")
            customer.installation_orders = []
    _erase_calls(customer, answer)
    claim = None if active else _claim_until(customer, now.date())
    if active:
        answer.retained.insert(0, _item(
            "contract_data", "contract data (identity, address, contact details, services)",
            CONTRACT_BASIS, "contract_in_force", None))
    else:
        _erase_identity(customer, answer, claim)
        if customer.services:
            answer.erase("services", "services")
            customer.services = []
    _prune_sources(customer, answer, claim)
    if customer.billing:
        answer.retained.append(_item(
            "accounting_records", ACCOUNTING_CATEGORY,
            ACCOUNTING_BASIS, "bookkeeping", accounting_until(customer)))
    return answer.body()


def _erase_tickets(customer: CrmCustomer, answer: _Answer, active: bool) -> None:
    open_ = [t for t in customer.support_tickets if active and t.get("status") != "closed"]
    if len(open_) < len(customer.support_tickets):
        answer.erase("support_tickets", "closed support tickets" if open_ else "support tickets")
        customer.support_tickets = open_
    if open_:
        answer.retained.append(_item(
            "open_support_tickets", "open support tickets (faults being handled)",
            CONTRACT_BASIS, "contract_in_force", None))


def _erase_credit_checks(customer: CrmCustomer, answer: _Answer, now: datetime,
                         active: bool) -> None:
    if not customer.credit_checks:
        return
    if active and customer.contract.started_at > now:
        answer.retained.append(_item(
            "credit_check", "credit check for the contract about to start", CONTRACT_BASIS,
            "contract_in_force", None))
        return
    answer.erase("credit_checks", "credit checks")
    customer.credit_checks = []


def _erase_calls(customer: CrmCustomer, answer: _Answer) -> None:
    history = customer.call_history
    if not history:
        return
    billing = Billing(customer)
    kept_periods = [p for p in _periods(history) if billing.needed(p)]
    kept = _keep_calls(history, lambda p: p in kept_periods,
                       min(kept_periods) if kept_periods else None)
    if len(kept) < len(history):
        answer.erase("call_history", "call history of invoiced and paid periods" if kept
                     else "call history")
        customer.call_history = kept
    if kept:
        answer.retained.append(_item(
            "billing_call_history",
            "call history still needed for billing (periods not yet invoiced or unpaid)",
            TRAFFIC_BILLING_BASIS, "traffic_billing",
            max(billing.until(p) for p in kept_periods)))


def _claim_until(customer: CrmCustomer, today: date | None = None) -> date | None:
    """The last day an unpaid invoice can still be claimed (None: nothing is owed, or every
    unpaid invoice is time-barred by ``today``)."""
    dates = [claim_until(due_date(r)) for r in customer.billing if not r.paid]
    live = [d for d in dates if today is None or d >= today]
    return max(live) if live else None


def _erase_identity(customer: CrmCustomer, answer: _Answer, claim: date | None) -> None:
    if claim is not None:
        if customer.email or customer.phone:
            answer.erase("contact_details", "contact details (e-mail, phone)")
            customer.email = customer.phone = None
        customer.erased_fields.update({"email", "phone"})
        if customer.name or customer.personnummer or customer.address:
            answer.retained.append(_item(
                "debtor_identity",
                "identity for the unpaid invoice (name, personnummer, address)",
                LIMITATION_BASIS, "limitation_period", claim))
        return
    if customer.name or customer.personnummer or customer.email or customer.phone:
        answer.erase("identity", "identity and contact details")
        customer.name = customer.personnummer = customer.email = customer.phone = None
    if customer.address is not None:
        answer.erase("address", "address")
        customer.address = None
    customer.erased_fields.update(RECTIFIABLE)


def _prune_sources(customer: CrmCustomer, answer: _Answer, claim: date | None) -> None:
    """Keep the sources of what is still held (art. 15(1)(g)), and only those."""
    if not customer.sources:
        return
    holds_identity = customer.contract.status == "active" or claim is not None
    wanted = {"self", "SPAR"} if holds_identity else set()
    if customer.credit_checks:
        wanted.add("UC")
    if customer.call_history:
        wanted.add("call_history")
    kept = [source for source in customer.sources if source in wanted]
    if len(kept) < len(customer.sources):
        answer.erase("sources", "sources of the erased data")
        customer.sources = kept
    if kept:
        if customer.contract.status == "active":
            answer.retained.append(_item(
                "data_sources", "where the data kept came from (sources)", CONTRACT_BASIS,
                "contract_in_force", None))
        else:
            answer.retained.append(_item(
                "data_sources", "where the data kept came from (sources)", LIMITATION_BASIS,
                "limitation_period", claim))


def erase_retained(customer: CrmCustomer, today: date) -> dict[str, Any]:
    """The deferred erasure: what was kept until a date that has now passed goes.

    Accounting records go once their seven years are over (an unpaid one only once its claim
    is time-barred too); calls once their invoice's claim is; the debtor's identity once no
    unpaid invoice can still be claimed. What is still kept is listed with its date.
    """
    answer = _Answer()
    claim = _claim_until(customer, today)
    billing = Billing(customer)
    history = customer.call_history
    if history:
        # a period invoiced and paid since the erasure is no longer needed either
        kept_periods = [p for p in _periods(history)
                        if billing.needed(p) and billing.until(p) >= today]
        kept = _keep_calls(history, lambda p: p in kept_periods,
                           min(kept_periods) if kept_periods else None)
        if len(kept) < len(history):
            answer.erase("call_history", "call history whose billing claim has run out")
            customer.call_history = kept
        if kept:
            answer.retained.append(_item(
                "billing_call_history",
                "call history still needed for billing (periods not yet invoiced or unpaid)",
                TRAFFIC_BILLING_BASIS, "traffic_billing",
                max(billing.until(p) for p in kept_periods)))
    due = [r for r in customer.billing if billing_until(r) < today
           and (r.paid or claim_until(due_date(r)) < today)]
    if due:
        answer.erase("accounting_records", f"accounting records of {len(due)} invoices")
        customer.billing = [r for r in customer.billing if r not in due]
    if customer.contract.status != "active":
        if claim is not None:
            answer.retained.append(_item(
                "debtor_identity",
                "identity for the unpaid invoice (name, personnummer, address)",
                LIMITATION_BASIS, "limitation_period", claim))
        elif customer.name or customer.personnummer or customer.address:
            # the claim is settled or time-barred: the identity kept for it goes
            answer.erase("debtor_identity", "identity kept for an unpaid invoice")
            customer.name = customer.personnummer = customer.address = None
            customer.erased_fields.update(RECTIFIABLE)
        if customer.sources and claim is None:
            answer.erase("sources", "sources of the erased data")
            customer.sources = []
        elif customer.sources:
            answer.retained.append(_item(
                "data_sources", "where the data kept came from (sources)", LIMITATION_BASIS,
                "limitation_period", claim))
    elif "call_history" in customer.sources and not customer.call_history:
        customer.sources = [s for s in customer.sources if s != "call_history"]
    if customer.billing:
        answer.retained.append(_item(
            "accounting_records", ACCOUNTING_CATEGORY,
            ACCOUNTING_BASIS, "bookkeeping", accounting_until(customer)))
    return answer.body()
