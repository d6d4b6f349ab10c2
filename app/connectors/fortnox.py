"""Fortnox Finans (invoicing): Fortnox REST API v3 with OAuth2 client credentials.

Two things shape this connector. Fortnox holds invoices, which Bokföringslagen says must be
kept seven years, so erasure cannot simply delete: with invoices on file the customer card is
anonymised and the invoices are reported as ``retained`` with the last day they are kept. An
unpaid invoice is a claim: the debtor's identity stays on the card until it is paid, but at
most while the claim can be pursued (a consumer claim is time-barred three years after its due
date, preskriptionslagen 2 §), and then goes at the deferred erasure. And Fortnox
rate-limits per token (25 calls per 5 s), so a token is fetched once and reused until shortly
before it expires, not per call.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any, ClassVar, cast

import httpx
from dateutil.relativedelta import relativedelta
from pydantic import SecretStr

from app.connectors.base import Call, Egress, Outcome, Retained, done, no_data, refuse
from app.connectors.common import json_object, safe_code
from app.connectors.config import PartnerSettings, Rate
from app.errors import PermanentError
from app.models import TaskStatus

TOKEN_MARGIN_S = 60.0  # refresh this long before the token's stated expiry
MAX_PAGES = 100
BFL_BASIS = "Bokföringslagen (1999:1078) 7 kap. 2 §; GDPR art. 17(3)(b)"
CLAIM_BASIS = (
    "GDPR art. 17(3)(e): an unpaid invoice is a legal claim, kept until it is paid and at most "
    "until it is time-barred (preskriptionslagen (1981:130) 2 §: three years for a consumer "
    "claim, from the due date)")
CLAIM_YEARS = 3
ANONYMISED_CARD: dict[str, Any] = {
    "Name": "Anonymiserad kund", "Email": "", "Phone1": "", "Address1": "", "ZipCode": "",
    "City": "", "OrganisationNumber": "", "Active": False,
}
# With an unpaid invoice the card keeps the debtor's identity (name, address, personnummer)
# as far as the claim needs it (art. 17(3)(e)); the contact details go.
CLAIM_CARD: dict[str, Any] = {"Email": "", "Phone1": "", "Active": False}
# The service's rectifiable fields and the Fortnox customer-card fields that hold them.
FIELDS = {
    "name": "Name", "email": "Email", "phone": "Phone1", "address": "Address1",
    "postal_code": "ZipCode", "city": "City",
}
# Fortnox error codes we know, with a fixed text (the partner's message may hold personal data).
KNOWN_ERRORS = {
    2000637: "the customer has invoices and cannot be deleted",
    2000433: "the customer was not found",
    2001101: "the access token is missing or expired",
}


def retention_until(invoice_year: int) -> str:
    """The last day an invoice is kept: 31 December of the seventh year after its fiscal
    (calendar) year (Bokföringslagen 7 kap. 2 §); it may be deleted from the day after."""
    return date(invoice_year + 7, 12, 31).isoformat()


def claim_until(due: date) -> str:
    """The last day a consumer claim can be pursued: three years from its due date."""
    return (due + relativedelta(years=CLAIM_YEARS)).isoformat()


# The sandbox's client credentials: the defaults outside production, refused in it.
SANDBOX_CLIENT = ("dsr-sandbox", "sandbox-client-secret")


class FortnoxSettings(PartnerSettings):
    """Fortnox's settings: OAuth2 client credentials besides the common ones, and its
    published limit as the default rate (25 requests per 5 seconds per token)."""

    client_id: str = SANDBOX_CLIENT[0]
    client_secret: SecretStr = SecretStr(SANDBOX_CLIENT[1])
    rate: Rate = "25/5"

    def production_problems(self, env_name: str) -> list[str]:
        problems = []
        if self.client_id == SANDBOX_CLIENT[0]:
            problems.append(f"{env_name}_CLIENT_ID is the sandbox's; set the real client id")
        if self.client_secret.get_secret_value() == SANDBOX_CLIENT[1]:
            problems.append(f"{env_name}_CLIENT_SECRET is the sandbox's; set the real secret")
        return problems


class FortnoxConnector:
    """Fortnox: export, erase (delete or anonymise + retain), rectify, restrict (inactive)."""

    system: ClassVar[str] = "fortnox"
    actions: ClassVar[tuple[str, ...]] = (
        "export", "erase", "rectify", "restrict", "erase_retained", "lift_restriction")

    def __init__(self, egress: Egress, config: PartnerSettings) -> None:
        self.egress = egress
        credentials = config if isinstance(config, FortnoxSettings) else FortnoxSettings()
        self._client_auth = (
            credentials.client_id, credentials.client_secret.get_secret_value()
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_lock = asyncio.Lock()

    async def execute(self, call: Call) -> Outcome:
        handlers = {
            "export": self._export, "erase": self._erase, "rectify": self._rectify,
            "restrict": self._restrict, "erase_retained": self._erase_retained,
            "lift_restriction": self._lift_restriction,
        }
        handler = handlers.get(call.action)
        if handler is None:
            raise PermanentError(f"fortnox has no action {call.action!r}")
        return await handler(call)

    async def poll(self, call: Call) -> Outcome | None:
        """Fortnox answers at once: there is never anything to poll."""
        return None

    # -- actions ---------------------------------------------------------------------------

    async def _export(self, call: Call) -> Outcome:
        # The card and the invoices are independent reads: ask for both at once.
        results = await asyncio.gather(
            self._api("GET", self._card(call), call), self._invoices(call),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        response, invoices = cast(tuple[httpx.Response, list[dict[str, Any]]], tuple(results))
        if response.status_code == 404:
            return no_data()
        card = self._ok(response).get("Customer")
        if not isinstance(card, dict):
            raise PermanentError("fortnox answered the customer with an unexpected body")
        numbers = {str(card.get("CustomerNumber"))} | {
            str(invoice.get("CustomerNumber")) for invoice in invoices}
        if numbers != {call.link}:
            raise PermanentError(
                "fortnox answered about another customer than the one asked for; nothing of "
                "the answer was kept")
        return done(
            f"Exported the Fortnox customer card and {len(invoices)} invoices.",
            {"customer_card": card, "invoices": invoices},
        )

    async def _erase(self, call: Call) -> Outcome:
        invoices = await self._invoices(call)
        if not invoices:
            response = await self._api("DELETE", self._card(call), call)
            if response.status_code == 404:
                return no_data()
            if response.status_code in (200, 204):
                return done("The Fortnox customer card was deleted; there were no invoices.")
            if _error_code(response) != 2000637:
                raise self._error(response)
            invoices = await self._invoices(call)  # invoices appeared meanwhile: anonymise
            if not invoices:
                raise PermanentError("fortnox refused the deletion but lists no invoices")
        owed = any(_unpaid(invoice) for invoice in invoices)
        response = await self._api(
            "PUT", self._card(call), call,
            json={"Customer": CLAIM_CARD if owed else ANONYMISED_CARD})
        if response.status_code == 404:
            return no_data()
        self._ok(response)
        return _retained_invoices(invoices)

    async def _rectify(self, call: Call) -> Outcome:
        card = {FIELDS[name]: value for name, value in call.changes.items() if name in FIELDS}
        if not card:
            raise PermanentError("fortnox rectification names no field Fortnox holds")
        if call.erased_by is not None:
            # An erasure deleted or anonymised this card: writing a name or address onto it
            # would bring back what the customer had erased.
            return call.erased_by.outcome("the Fortnox customer card was anonymised or "
                                          "deleted, so nothing was written back.")
        response = await self._api(
            "PUT", self._card(call), call, json={"Customer": card}, allow=card.values()
        )
        if response.status_code == 404:
            return no_data()
        self._ok(response)
        changed = ", ".join(sorted(name for name in call.changes if name in FIELDS))
        return done(f"Rectified on the Fortnox customer card: {changed}.")

    async def _restrict(self, call: Call) -> Outcome:
        response = await self._api(
            "PUT", self._card(call), call, json={"Customer": {"Active": False}}
        )
        if response.status_code == 404:
            return no_data()
        self._ok(response)
        return done(
            "Fortnox has no restriction flag: the customer card was marked inactive "
            "(Active: false) so it is not used for new invoicing while restricted."
        )

    async def _erase_retained(self, call: Call) -> Outcome:
        """The deferred erasure: every invoice whose Bokföringslagen period has run out is
        deleted (an unpaid one only once its claim is time-barred too); with no claim left
        that can be pursued the card is anonymised, and once no invoice is left it goes."""
        today = (call.as_of or date.today()).isoformat()
        invoices = await self._invoices(call)
        due = [i for i in invoices if retention_until(_latest_year([i])) < today
               and (not _unpaid(i) or str(_claim_until([i])) < today)]
        for invoice in due:
            number = invoice.get("DocumentNumber")
            response = await self._api("DELETE", f"/3/invoices/{number}", call,
                                       step=f"invoice-{number}")
            if response.status_code not in (200, 204, 404):
                raise self._error(response)
        left = [i for i in invoices if i not in due]
        if not left:
            response = await self._api("DELETE", self._card(call), call, step="card")
            if response.status_code not in (200, 204, 404):
                raise self._error(response)
            return Outcome(TaskStatus.done, f"Deleted {len(due)} invoices whose retention "
                           "period had run out, and the anonymised customer card.",
                           code="fortnox_deferred_all", params={"deleted": len(due)})
        claim = _claim_until([i for i in left if _unpaid(i)])
        live = claim is not None and claim >= today
        if not live:
            # No claim can be pursued any more: the identity kept for it goes (a card that
            # was anonymised already is written the same again).
            response = await self._api("PUT", self._card(call), call,
                                       json={"Customer": ANONYMISED_CARD},
                                       step="card-anonymised")
            if response.status_code not in (200, 404):
                raise self._error(response)
        items = [Retained("invoices", BFL_BASIS, retention_until(_latest_year(left)),
                          "invoices", "bookkeeping")]
        if live:
            items.append(Retained("debtor identity on the customer card (unpaid invoice)",
                                  CLAIM_BASIS, claim, "debtor_identity", "limitation_period"))
        return Outcome(TaskStatus.retained,
                       f"Deleted {len(due)} invoices whose retention period had run out; "
                       f"{len(left)} are kept to their date"
                       + ("; the debtor's identity stays for the unpaid invoice." if live else
                          "; the customer card is anonymised."), None, tuple(items),
                       # the letter says what this run did: invoices went, or the identity
                       code="fortnox_deferred_partly" if live else "fortnox_identity_erased",
                       params={"deleted": len(due), "kept": len(left),
                               "claim_until": claim if live else None,
                               "until": retention_until(_latest_year(left))})

    async def _lift_restriction(self, call: Call) -> Outcome:
        response = await self._api(
            "PUT", self._card(call), call, json={"Customer": {"Active": True}})
        if response.status_code == 404:
            return no_data()
        self._ok(response)
        return done("The restriction was lifted: the Fortnox customer card is active again.")

    async def _invoices(self, call: Call) -> list[dict[str, Any]]:
        """Every invoice of the customer, following Fortnox's page numbers."""
        invoices: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, Any] = {"customernumber": call.link}
            if page > 1:
                params["page"] = page
            body = self._ok(await self._api("GET", "/3/invoices", call, params=params))
            items = body.get("Invoices")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise PermanentError("fortnox answered the invoices with an unexpected body")
            invoices.extend(items)
            meta = body.get("MetaInformation")
            total_pages = meta.get("@TotalPages", 1) if isinstance(meta, dict) else 1
            if not isinstance(total_pages, int) or page >= total_pages:
                return invoices
        raise PermanentError("fortnox invoice list did not end")

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _card(call: Call) -> str:
        return f"/3/customers/{call.link}"

    async def _api(
        self, method: str, path: str, call: Call, *, json: Any = None,
        params: dict[str, Any] | None = None, allow: Any = (), step: str | None = None,
    ) -> httpx.Response:
        """One ``/3/`` call with a Bearer token; a 401 refreshes the token once and retries.

        ``step`` names one of several writes a task makes (each invoice a deferred erasure
        deletes): its ``Idempotency-Key`` is ``<partner ref>:<step>``, so each write is applied
        once and none is mistaken for a repeat of another."""
        stale: str | None = None
        headers = {"Idempotency-Key": f"{call.idempotency_key}:{step}"} if step else {}
        for _ in range(2):
            token = await self._access_token(stale)
            response = await self.egress.request(
                method, path, call=call, json=json, params=params, allow=allow,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
            if response.status_code != 401:
                return response
            stale = token
        raise PermanentError("fortnox rejected a freshly issued access token (401)")

    async def _access_token(self, stale: str | None = None) -> str:
        """The cached token, or a new one if it is near expiry or is ``stale`` (got a 401).

        Concurrent calls that all got a 401 with the same token fetch one new token between
        them: the lock serialises them and the second finds the token already replaced.
        """
        async with self._token_lock:
            cached = self._token
            if cached is not None and cached != stale and time.monotonic() < self._expires_at:
                return cached
            response = await self.egress.request(
                "POST", "/oauth-v1/token", data={"grant_type": "client_credentials"},
                auth=self._client_auth,
            )
            if response.status_code != 200:
                raise refuse(response, self.system, "the client credentials were not accepted")
            body = json_object(response, self.system)
            token, expires_in = body.get("access_token"), body.get("expires_in", 3600)
            if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
                raise PermanentError("fortnox answered the token request with an unexpected body")
            self._token = token
            self._expires_at = time.monotonic() + max(0.0, float(expires_in) - TOKEN_MARGIN_S)
            return token

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise self._error(response)
        return json_object(response, self.system)

    def _error(self, response: httpx.Response) -> PermanentError:
        code = _error_code(response)
        if code is None:
            return refuse(response, self.system)
        known = KNOWN_ERRORS.get(code)
        reason = f"Fortnox error {code}" + (f", {known}" if known else "")
        return refuse(response, self.system, reason)


def _error_code(response: httpx.Response) -> int | None:
    """The ``ErrorInformation`` code of a Fortnox error answer (never its message)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # a partner's body: any shape
        return None
    info = body.get("ErrorInformation") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return None
    code = safe_code(info.get("code", info.get("Code")))
    return int(code) if code is not None and code.isdigit() else None


def _retained_invoices(invoices: list[dict[str, Any]]) -> Outcome:
    """What an erasure keeps at Fortnox: every invoice under Bokföringslagen through its last
    day, and, while one is unpaid, the debtor's identity on the card through the last day the
    claim can be pursued."""
    unpaid = [inv for inv in invoices if _unpaid(inv)]
    until = retention_until(_latest_year(invoices))
    items = [Retained("invoices", BFL_BASIS, until, "invoices", "bookkeeping")]
    claim = _claim_until(unpaid)
    params: dict[str, Any] = {"invoices": len(invoices), "unpaid": len(unpaid), "until": until}
    if claim is not None:
        items.append(Retained("debtor identity on the customer card (unpaid invoice)",
                              CLAIM_BASIS, claim, "debtor_identity", "limitation_period"))
        summary = (f"The Fortnox customer card's contact details were erased and the card marked "
                   f"inactive; its name, address and personnummer stay for {len(unpaid)} unpaid "
                   f"invoice(s) until paid, at most through {claim}; {len(invoices)} invoices "
                   "are kept by law.")
        code = "fortnox_claim_kept"
        params["claim_until"] = claim
    else:
        summary = ("The Fortnox customer card was anonymised and marked inactive; "
                   f"{len(invoices)} invoices are kept by law.")
        code = "fortnox_anonymised"
    return Outcome(TaskStatus.retained, summary, None, tuple(items), code=code, params=params)


def _claim_until(unpaid: list[dict[str, Any]]) -> str | None:
    """The last day any of these unpaid invoices can still be claimed (None: there are none)."""
    dates = []
    for invoice in unpaid:
        try:
            dates.append(claim_until(date.fromisoformat(str(invoice.get("DueDate")))))
        except ValueError:
            raise PermanentError("fortnox listed an unpaid invoice without a valid "
                                 "DueDate") from None
    return max(dates, default=None)


def _unpaid(invoice: dict[str, Any]) -> bool:
    balance = invoice.get("Balance", 0)
    return isinstance(balance, int | float) and balance > 0 and not invoice.get("Cancelled")


def _latest_year(invoices: list[dict[str, Any]]) -> int:
    years = []
    for invoice in invoices:
        try:
            years.append(date.fromisoformat(str(invoice.get("InvoiceDate"))).year)
        except ValueError:
            raise PermanentError("fortnox listed an invoice without a valid InvoiceDate") from None
    return max(years)
