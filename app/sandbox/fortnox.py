"""Fortnox REST API v3, as far as the connector uses it: OAuth2 tokens, customers, invoices.

What makes Fortnox awkward is reproduced on purpose, so the connector is built against it:
tokens expire, every ``/3/`` call is rate limited per token (25 requests in any 5 seconds; the
26th is refused with ``429`` and ``Retry-After``; ``DSR_SANDBOX_FORTNOX_RATE`` changes or
lifts it), errors come as ``ErrorInformation``, and a
customer with invoices cannot be deleted (Bokföringslagen) and must be anonymised instead.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
from collections import deque
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.sandbox.faults import gate
from app.sandbox.http import Answer, as_of, error_response, read_model, remember, replay
from app.sandbox.models import FortnoxCustomer
from app.sandbox.state import SandboxState

SYSTEM = "fortnox"
TOKEN_TTL_S = 3600
PAGE_SIZE = 100  # Fortnox lists 100 resources a page unless told otherwise
MAX_PAGE_SIZE = 500


class CustomerUpdate(BaseModel):
    Customer: dict[str, Any]


def _oauth_error(status: int, error: str, description: str) -> Answer:
    return Answer(JSONResponse({"error": error, "error_description": description},
                               status_code=status))


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return (client_id, client_secret) if colon else None


def _fail(status: int, error: str, message: str) -> Answer:
    return Answer(error_response(SYSTEM, status, error, message))


def _apply(customer: FortnoxCustomer, fields: dict[str, Any]) -> None:
    """Validate every field first, then change them all: a refused PUT changes nothing."""
    for wire, value in fields.items():
        if wire == "CustomerNumber":
            if value != customer.customer_number:
                raise _fail(400, "invalid_request", "CustomerNumber kan inte ändras.")
            continue
        if wire not in FortnoxCustomer.WRITABLE:
            raise _fail(400, "invalid_request", f"Ogiltigt fält: {wire}")
        wanted = bool if wire == "Active" else str
        if not isinstance(value, wanted):
            raise _fail(400, "invalid_request", f"Ogiltigt värde för fält: {wire}")
    for wire, value in fields.items():
        if wire != "CustomerNumber":
            setattr(customer, FortnoxCustomer.WRITABLE[wire], value)


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(tags=["sandbox: fortnox"],
                       dependencies=[Depends(gate(state, SYSTEM, delay=True))])

    async def bearer(request: Request) -> str:
        """The caller's valid token, after charging this call to its rate window."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        now = state.clock()
        expiry = state.fortnox_tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= now:
            state.fortnox_tokens.pop(token, None)
            raise _fail(401, "unauthorized", "Ogiltig eller utgången access-token.")
        if state.fortnox_rate is None:  # lifted (DSR_SANDBOX_FORTNOX_RATE=0)
            return token
        limit, period = state.fortnox_rate
        window = state.fortnox_calls.setdefault(token, deque())
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            wait = max(1, math.ceil(window[0] + period - now))
            answer = error_response(SYSTEM, 429, "rate_limited", "Too many requests.")
            answer.headers["Retry-After"] = str(wait)
            raise Answer(answer)
        window.append(now)
        return token

    @router.post("/oauth-v1/token")
    async def token(request: Request) -> JSONResponse:
        credentials = _basic_credentials(request)
        settings = state.settings
        expected_secret = settings.fortnox_client_secret.get_secret_value()
        if credentials is None or not (
            hmac.compare_digest(credentials[0].encode(), settings.fortnox_client_id.encode())
            and hmac.compare_digest(credentials[1].encode(), expected_secret.encode())
        ):
            raise _oauth_error(401, "invalid_client", "Client authentication failed.")
        form = parse_qs((await request.body()).decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            raise _oauth_error(400, "unsupported_grant_type",
                               "Only grant_type=client_credentials is supported.")
        access_token = secrets.token_urlsafe(32)
        state.fortnox_tokens[access_token] = state.clock() + TOKEN_TTL_S
        return JSONResponse({"access_token": access_token, "token_type": "Bearer",
                             "expires_in": TOKEN_TTL_S, "scope": "customer invoice"})

    api = APIRouter(prefix="/3", dependencies=[Depends(bearer)])

    def customer_or_404(number: str) -> FortnoxCustomer:
        customer = state.fortnox_customers.get(number)
        if customer is None:
            raise _fail(404, "not_found", "Kan inte hitta kunden.")
        return customer

    @api.get("/customers/{number}")
    async def get_customer(number: str) -> JSONResponse:
        return JSONResponse({"Customer": customer_or_404(number).as_fortnox()})

    @api.put("/customers/{number}")
    async def put_customer(number: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer = customer_or_404(number)
        body = await read_model(request, CustomerUpdate, SYSTEM)
        _apply(customer, body.Customer)
        return remember(state, SYSTEM, request, 200, {"Customer": customer.as_fortnox()})

    @api.delete("/customers/{number}")
    async def delete_customer(number: str, request: Request) -> Response:
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        customer_or_404(number)
        if any(inv.customer_number == number for inv in state.fortnox_invoices):
            raise _fail(400, "has_invoices",
                        "Kunden kan inte tas bort eftersom det finns fakturor kopplade till den.")
        del state.fortnox_customers[number]
        return remember(state, SYSTEM, request, 204, None)

    @api.delete("/invoices/{document}")
    async def delete_invoice(document: str, request: Request) -> Response:
        """Only once the Bokföringslagen period (seven years after the fiscal year) is over."""
        if (repeat := replay(state, SYSTEM, request)) is not None:
            return repeat
        invoice = next((i for i in state.fortnox_invoices if i.document_number == document),
                       None)
        if invoice is None:
            raise _fail(404, "not_found", "Kan inte hitta fakturan.")
        if date(invoice.invoice_date.year + 7, 12, 31) >= as_of(request):
            raise _fail(400, "retention_period",
                        "Fakturan omfattas av arkiveringsplikt och kan inte tas bort.")
        state.fortnox_invoices.remove(invoice)
        return remember(state, SYSTEM, request, 204, None)

    @api.get("/invoices")
    async def list_invoices(
        customernumber: str | None = None, page: str = "1", limit: str = str(PAGE_SIZE)
    ) -> JSONResponse:
        if not (page.isdigit() and int(page) >= 1 and limit.isdigit()
                and 1 <= int(limit) <= MAX_PAGE_SIZE):
            raise _fail(400, "invalid_request", "Ogiltig page eller limit.")
        size, number = int(limit), int(page)
        invoices = [inv.as_fortnox() for inv in state.fortnox_invoices
                    if customernumber is None or inv.customer_number == customernumber]
        return JSONResponse({
            "MetaInformation": {"@TotalResources": len(invoices),
                                "@TotalPages": max(1, math.ceil(len(invoices) / size)),
                                "@CurrentPage": number},
            "Invoices": invoices[(number - 1) * size:number * size],
        })

    router.include_router(api)
    return router
