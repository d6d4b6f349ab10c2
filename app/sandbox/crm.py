"""The own customer register (first-party): answers at once, after the configured delay.

It applies the erasure rules the company has decided (:mod:`app.sandbox.erasure`, with the
reasoning per category): an active contract keeps what delivering and billing it needs, an
ended contract what a law or an unpaid invoice needs; everything else goes, and what is kept
is listed with its basis and the last day it is kept. Mutations honour
``Idempotency-Key`` so a retried call is applied once. Rectification answers with masked
previous values only: the full old value is personal data the service has no need for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from app.sandbox.erasure import (
    ACCOUNTING_BASIS,
    CONTRACT_BASIS,
    RECTIFIABLE,
    erase,
    erase_retained,
)
from app.sandbox.faults import gate
from app.sandbox.http import (
    Answer,
    api_key_check,
    as_of,
    error_response,
    read_model,
    remember,
    replay,
)
from app.sandbox.models import Address, CallRecord, CrmCustomer, iso
from app.sandbox.seed import GeneratedCallHistory
from app.sandbox.state import SandboxState

# The bases are the rules' (app.sandbox.erasure); named here too for the register's callers.
__all__ = ["ACCOUNTING_BASIS", "CONTRACT_BASIS", "build_router", "erase", "erase_retained",
           "mask", "record", "rectify"]

SYSTEM = "crm"
MAX_PAGE = 1000
LOCK_AFTER = timedelta(days=183)  # the policy locks a departed customer's data after 6 months

log = logging.getLogger("app.sandbox.crm")


class Changes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: dict[str, str]


class Restriction(BaseModel):
    grounds: str | None = None


def mask(field: str, value: str | None) -> str | None:
    """Enough of a value for a person to recognise it, too little to reveal it."""
    if not value:
        return value
    if field == "email" and "@" in value:
        local, _, domain = value.partition("@")
        host, dot, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***{dot}{tld}" if host else f"{local[:1]}***@***"
    if field == "phone":
        return "***" + value[-2:]
    return " ".join(word[:1] + "***" for word in value.split())


def record(customer: CrmCustomer, now: datetime) -> dict[str, Any]:
    """The customer record in the register's wire shape."""
    contract = customer.contract
    ended = contract.ended_at
    return {
        "customer_number": customer.customer_number,
        "name": customer.name,
        "personnummer": customer.personnummer,
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address.as_dict() if customer.address else None,
        "contract": {"status": contract.status, "started_at": iso(contract.started_at),
                     "ended_at": iso(ended)},
        "services": [{"service_id": s.service_id, "kind": s.kind, "since": iso(s.since)}
                     for s in customer.services],
        "consents": [{"purpose": c.purpose, "given": c.given, "at": iso(c.at)}
                     for c in customer.consents],
        "sources": list(customer.sources),
        "order_ip_log": [{"ip": e.ip, "at": iso(e.at)} for e in customer.order_ip_log
                         if now - e.at < timedelta(hours=24)],
        "call_history_count": len(customer.call_history),
        "billing_records": [b.as_dict() for b in customer.billing],
        "locked": ended is not None and now - ended > LOCK_AFTER,
        "restricted": customer.restricted,
        "marketing_stopped": customer.marketing_stopped,
        "support_tickets": customer.support_tickets,
        "service_contacts": customer.service_contacts,
        "email_log": customer.email_log,
        "ip_log": [entry for entry in customer.ip_log
                   if now - datetime.fromisoformat(entry["assigned_at"].replace("Z", "+00:00"))
                   < timedelta(hours=24)],
        "credit_checks": customer.credit_checks,
        "website_visits": customer.website_visits,
        "installation_orders": customer.installation_orders,
    }


def rectify(customer: CrmCustomer, changes: dict[str, str]) -> dict[str, Any]:
    previous: dict[str, str | None] = {}
    address = customer.address or Address("", "", "")
    for field, value in changes.items():
        if field in ("name", "email", "phone"):
            previous[field] = mask(field, getattr(customer, field))
            setattr(customer, field, value)
        else:
            attr = "street" if field == "address" else field
            previous[field] = mask(field, getattr(address, attr) or None)
            setattr(address, attr, value)
    if any(f in changes for f in ("address", "postal_code", "city")):
        customer.address = address
    return {"updated": sorted(changes), "previous_masked": previous}


def cursor_position(rows: Sequence[CallRecord], row_id: str) -> int:
    """Where the row a cursor names is; ``ValueError`` if it is not one of these rows."""
    if isinstance(rows, GeneratedCallHistory):
        return rows.position(row_id)
    for i, row in enumerate(rows):
        if row.id == row_id:
            return i
    raise ValueError("unknown cursor")


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(
        tags=["sandbox: crm"],
        dependencies=[Depends(gate(state, SYSTEM, delay=True)),
                      Depends(api_key_check(state, SYSTEM))],
    )

    def customer_or_404(cn: str) -> CrmCustomer:
        customer = state.crm.get(cn)
        if customer is None:
            raise Answer(JSONResponse({"error": "not_found"}, status_code=404))
        return customer

    def bad_request(message: str) -> Answer:
        return Answer(error_response(SYSTEM, 400, "invalid_request", message))

    @router.get("/customers/{cn}")
    async def get_customer(cn: str) -> JSONResponse:
        return JSONResponse(record(customer_or_404(cn), datetime.now(UTC)))

    @router.get("/customers/{cn}/call-history")
    async def get_call_history(cn: str, after: str | None = None,
                               limit: str = "100") -> JSONResponse:
        customer = customer_or_404(cn)
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
            raise bad_request(f"limit must be a whole number from 1 to {MAX_PAGE}")
        rows = customer.call_history
        start = 0
        if after:
            try:
                start = cursor_position(rows, after) + 1
            except ValueError:
                raise bad_request("after is not a cursor this register gave out") from None
        page = rows[start:start + int(limit)]
        more = start + len(page) < len(rows)
        return JSONResponse({"items": [row.as_dict() for row in page],
                             "next": page[-1].id if more and page else None})

    @router.get("/customers/{cn}/export")
    async def export(cn: str, scope: str = "provided") -> JSONResponse:
        customer = customer_or_404(cn)
        if scope != "provided":
            raise bad_request("scope must be 'provided'")
        address = customer.address
        row = {
            "customer_number": customer.customer_number, "name": customer.name,
            "personnummer": customer.personnummer, "email": customer.email,
            "phone": customer.phone, "street": address.street if address else None,
            "postal_code": address.postal_code if address else None,
            "city": address.city if address else None,
        }
        return JSONResponse({"datasets": {
            "customer": [row],
            "services": [{"service_id": s.service_id, "kind": s.kind, "since": iso(s.since)}
                         for s in customer.services],
            "consents": [{"purpose": c.purpose, "given": c.given, "at": iso(c.at)}
                         for c in customer.consents],
        }})

    @router.patch("/customers/{cn}")
    async def patch_customer(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer = customer_or_404(cn)
        body = await read_model(request, Changes, SYSTEM)
        unknown = sorted(set(body.changes) - set(RECTIFIABLE))
        if unknown or not body.changes:
            raise bad_request("changes must name fields among " + ", ".join(RECTIFIABLE))
        if erased := sorted(set(body.changes) & customer.erased_fields):
            # What an erasure removed is not written back by a later correction.
            raise Answer(JSONResponse({"error": "erased", "fields": erased}, status_code=409))
        answer = rectify(customer, body.changes)
        log.info("sandbox crm rectified", extra={"fields": answer["updated"]})
        return remember(state, SYSTEM, request, 200, answer)

    @router.post("/customers/{cn}/erase")
    async def erase_customer(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        answer = erase(customer_or_404(cn), datetime.now(UTC))
        log.info("sandbox crm erased", extra={"categories": answer["erased"]})
        return remember(state, SYSTEM, request, 200, answer)

    @router.post("/customers/{cn}/restrict")
    async def restrict(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer = customer_or_404(cn)
        body = await read_model(request, Restriction, SYSTEM, empty_ok=True)
        if not customer.restricted:
            customer.restricted = True
            customer.restricted_since = datetime.now(UTC).replace(microsecond=0)
            customer.restriction_grounds = body.grounds
        answer = {"restricted": True, "since": iso(customer.restricted_since)}
        return remember(state, SYSTEM, request, 200, answer)

    @router.post("/customers/{cn}/erase-retained")
    async def erase_retained_customer(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        answer = erase_retained(customer_or_404(cn), as_of(request))
        return remember(state, SYSTEM, request, 200, answer)

    @router.post("/customers/{cn}/lift-restriction")
    async def lift_restriction(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer = customer_or_404(cn)
        customer.restricted, customer.restricted_since = False, None
        customer.restriction_grounds = None
        return remember(state, SYSTEM, request, 200, {"restricted": False})

    @router.get("/contracts/ended")
    async def ended_contracts(before: str) -> JSONResponse:
        """Customers whose contract ended before ``before`` (the retention sweep asks)."""
        try:
            limit = date.fromisoformat(before)
        except ValueError:
            raise bad_request("before must be a date, YYYY-MM-DD") from None
        found = [
            {"customer_number": c.customer_number,
             "ended_at": c.contract.ended_at.date().isoformat()}
            for c in state.crm.values()
            if c.contract.ended_at is not None and c.contract.ended_at.date() < limit
        ]
        return JSONResponse({"customers": sorted(found, key=lambda c: c["customer_number"])})

    @router.post("/customers/{cn}/marketing-objection")
    async def marketing_objection(cn: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer = customer_or_404(cn)
        now = datetime.now(UTC).replace(microsecond=0)
        customer.marketing_stopped = True
        for consent in customer.consents:
            if consent.purpose == "marketing" and consent.given:
                consent.given, consent.at = False, now
        answer = {"marketing": "stopped", "consent_withdrawn": True}
        return remember(state, SYSTEM, request, 200, answer)

    return router
