"""The own customer register (CRM/billing): first-party REST, answers at once.

The register is keyed by the customer number (the call's link). It holds the most personal
data of any system, and every answer is sorted into named categories for the response package
rather than stored as one opaque blob.

Call history (traffic data, part of the copy GDPR art. 15 promises) can run to millions of
rows, so the access task stores only the record and the *count*; the package builder streams
the rows page by page with :meth:`CrmConnector.iter_call_history` straight into the package,
never holding them all in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any, ClassVar

import httpx
from pydantic import Field

from app.connectors.base import (
    Call,
    Egress,
    Outcome,
    done,
    manual,
    no_data,
)
from app.connectors.common import (
    bearer,
    json_object,
    parse_retained,
    refuse_with_code,
    safe_code,
    safe_text,
)
from app.connectors.config import PartnerSettings
from app.errors import PermanentError
from app.models import TaskStatus

PAGE_SIZE = 1000  # the register's largest page
# Record keys that become their own data category; everything else is "customer_data".
_CATEGORIES = {
    "services": "services", "consents": "consents", "order_ip_log": "order_ip_log",
    "sources": "sources", "billing_records": "billing", "support_tickets": "support_tickets",
    "service_contacts": "service_contacts", "email_log": "email_log", "ip_log": "ip_log",
    "credit_checks": "credit_checks", "website_visits": "website_visits",
    "installation_orders": "installation_orders",
}
ASSESS_OBJECTION = (
    "An agent must weigh the objection to processing on legitimate interest (art. 21(1)): "
    "processing may continue only on compelling legitimate grounds that override the "
    "customer's interests, or for legal claims. Record the assessment and its reasons, stop the "
    "processing if the grounds are not shown, then complete this task."
)


class CrmSettings(PartnerSettings):
    """The register's settings: it takes more calls at once than a partner does."""

    concurrency: int = Field(default=8, ge=1)


class CrmConnector:
    """Connect2IP's own register: export, erase, rectify, restrict, portability, objections."""

    system: ClassVar[str] = "crm"
    actions: ClassVar[tuple[str, ...]] = (
        "export", "export_provided", "erase", "rectify", "restrict", "stop_marketing",
        "assess_objection", "erase_retained", "lift_restriction",
    )

    def __init__(self, egress: Egress, config: PartnerSettings) -> None:
        self.egress = egress
        self.headers = bearer(config.api_key.get_secret_value() if config.api_key else None)

    async def execute(self, call: Call) -> Outcome:
        handlers = {
            "export": self._export, "export_provided": self._export_provided,
            "erase": self._erase, "rectify": self._rectify, "restrict": self._restrict,
            "stop_marketing": self._stop_marketing, "erase_retained": self._erase_retained,
            "lift_restriction": self._lift_restriction,
        }
        if call.action == "assess_objection":
            return manual(ASSESS_OBJECTION)
        handler = handlers.get(call.action)
        if handler is None:
            raise PermanentError(f"crm has no action {call.action!r}")
        return await handler(call)

    async def poll(self, call: Call) -> Outcome | None:
        """The register answers at once: there is never anything to poll."""
        return None

    # -- actions ---------------------------------------------------------------------------

    async def _export(self, call: Call) -> Outcome:
        response = await self._send("GET", self._path(call), call)
        if response.status_code == 404:
            return no_data()
        record = self._ok(response)
        self._same_subject(call, record.get("customer_number"))
        data: dict[str, Any] = {"customer_data": {}}
        for key, value in record.items():
            if key in _CATEGORIES:
                data[_CATEGORIES[key]] = value
            else:
                data["customer_data"][key] = value
        count = record.get("call_history_count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PermanentError("crm answered the customer without a call-history count")
        return done(
            f"Exported the customer record ({len(data)} categories); {count} call-history "
            "records are streamed into the response package.",
            data,
        )

    async def iter_call_history(self, link: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The customer's call history, one page (at most ``PAGE_SIZE`` rows) at a time.

        Used by the response package builder; raises ``TransientError``/``PermanentError``
        like the actions do. A cursor seen twice (a looping register) is a permanent error;
        only the cursors are remembered, never the rows.
        """
        path = f"/customers/{link}/call-history"
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor is not None:
                params["after"] = cursor
            response = await self.egress.request(
                "GET", path, params=params, headers=self.headers
            )
            if response.status_code == 404:
                return
            page = self._ok(response)
            items, cursor = page.get("items"), page.get("next")
            if not isinstance(items, list) or not (cursor is None or isinstance(cursor, str)):
                raise PermanentError("crm answered the call history with an unexpected body")
            if items:
                yield items
            if cursor is None:
                return
            if cursor in seen:
                raise PermanentError("crm repeated a call-history cursor")
            seen.add(cursor)

    async def _export_provided(self, call: Call) -> Outcome:
        response = await self._send(
            "GET", self._path(call) + "/export", call, params={"scope": "provided"}
        )
        if response.status_code == 404:
            return no_data()
        datasets = self._ok(response).get("datasets")
        if not isinstance(datasets, dict):
            raise PermanentError("crm answered the export without datasets")
        rows = datasets.get("customer")
        first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        self._same_subject(call, first.get("customer_number"))
        return done(
            f"Exported the data the customer provided ({len(datasets)} datasets).", datasets
        )

    async def _erase(self, call: Call) -> Outcome:
        response = await self._send("POST", self._path(call) + "/erase", call)
        if response.status_code == 404:
            return no_data()
        return self._erasure_outcome(self._ok(response), "Erased from the customer register",
                                     "nothing", "crm_erased")

    def _erasure_outcome(
        self, body: dict[str, Any], done_text: str, none_text: str, code: str
    ) -> Outcome:
        """An erasure answer (``erased`` categories, ``retained`` items) as an Outcome.

        The register lists everything it keeps, with its basis, so the summary says "kept"
        and names the basis of each item: data kept while the contract runs is not kept by law.
        ``params.erased`` are the codes of the categories erased (the answer words them)."""
        erased, kept = body.get("erased", []), body.get("retained", [])
        codes = body.get("erased_codes", [])
        if not isinstance(erased, list) or not isinstance(kept, list) \
                or not isinstance(codes, list):
            raise PermanentError("crm answered the erasure with an unexpected body")
        items = [parse_retained(item, self.system) for item in kept]
        params = {"erased": [c for c in (safe_code(c) for c in codes) if c]}
        summary = f"{done_text}: " + (
            ", ".join(safe_text(c, "?") for c in erased) or none_text) + "."
        if not items:
            return Outcome(TaskStatus.done, summary, code=code, params=params)
        listed = "; ".join(
            f"{item.category} ({item.basis_code or item.basis}, "
            + (f"until {item.until})" if item.until else "no end date yet)")
            for item in items)
        return Outcome(TaskStatus.retained, f"{summary} Kept: {listed}.", retained=tuple(items),
                       code=code, params=params)

    async def _erase_retained(self, call: Call) -> Outcome:
        """The deferred erasure: what was kept until a date that has now passed.

        A task that keeps something with a later date runs again then, under the same task
        id: each run is its own write, keyed by the date it is due for (the earliest ``until``
        of the items it was scheduled with), so the register does not answer a later run with
        an earlier one's answer."""
        dates = sorted(str(item["until"]) for item in call.params.get("items") or []
                       if isinstance(item, dict) and item.get("until"))
        key = {"Idempotency-Key": f"{call.idempotency_key}:{dates[0]}"} if dates else {}
        response = await self._send("POST", self._path(call) + "/erase-retained", call,
                                    headers=key)
        if response.status_code == 404:
            return no_data("The register no longer holds the customer.")
        return self._erasure_outcome(self._ok(response), "Deferred erasure in the customer "
                                     "register", "nothing was due yet", "crm_deferred")

    async def _lift_restriction(self, call: Call) -> Outcome:
        response = await self._send("POST", self._path(call) + "/lift-restriction", call)
        if response.status_code == 404:
            return no_data()
        if self._ok(response).get("restricted") is not False:
            raise PermanentError("crm did not confirm that the restriction was lifted")
        return done("The restriction was lifted: the customer record is in use again.")

    async def ended_contracts(self, before: date) -> list[tuple[str, date]]:
        """Customers whose contract ended before ``before`` (for the retention sweep)."""
        response = await self.egress.request(
            "GET", "/contracts/ended", params={"before": before.isoformat()},
            headers=self.headers)
        rows = self._ok(response).get("customers")
        if not isinstance(rows, list):
            raise PermanentError("crm answered the ended contracts with an unexpected body")
        found: list[tuple[str, date]] = []
        for row in rows:
            try:
                found.append((str(row["customer_number"]),
                              date.fromisoformat(str(row["ended_at"]))))
            except (KeyError, TypeError, ValueError):
                raise PermanentError("crm listed an ended contract malformed") from None
        return found

    async def _rectify(self, call: Call) -> Outcome:
        if not call.changes:
            raise PermanentError("crm rectification has no changes")
        response = await self._send(
            "PATCH", self._path(call), call, json={"changes": call.changes},
            allow=call.changes.values(),
        )
        if response.status_code == 404:
            return no_data()
        if response.status_code == 409 and _error(response) == "erased":
            # The register refuses to write a value back into a field an erasure emptied.
            text = "the register keeps no such data, so nothing was written back."
            if call.erased_by is not None:
                return call.erased_by.outcome(text)
            return no_data(f"Erased earlier: {text}")
        updated = self._ok(response).get("updated")
        fields = sorted(set(updated) & set(call.changes)) if isinstance(updated, list) else []
        return done(
            "Rectified in the customer register: " + (", ".join(fields) or "no field changed") + "."
        )

    async def _restrict(self, call: Call) -> Outcome:
        grounds = str(call.options.get("grounds") or "unspecified")
        response = await self._send(
            "POST", self._path(call) + "/restrict", call, json={"grounds": grounds}
        )
        if response.status_code == 404:
            return no_data()
        if self._ok(response).get("restricted") is not True:
            raise PermanentError("crm did not confirm the restriction")
        return done("The customer record is marked restricted (stored, not used).")

    async def _stop_marketing(self, call: Call) -> Outcome:
        response = await self._send("POST", self._path(call) + "/marketing-objection", call)
        if response.status_code == 404:
            return no_data()
        body = self._ok(response)
        if body.get("marketing") != "stopped":
            raise PermanentError("crm did not confirm that marketing stopped")
        withdrawn = " and the marketing consent withdrawn" if body.get("consent_withdrawn") else ""
        return done(f"Direct marketing stopped{withdrawn}.")

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _path(call: Call) -> str:
        return f"/customers/{call.link}"

    async def _send(
        self, method: str, path: str, call: Call, *, json: Any = None,
        params: dict[str, Any] | None = None, allow: Any = (),
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self.egress.request(
            method, path, call=call, json=json, params=params,
            headers={**self.headers, **(headers or {})}, allow=allow)

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise refuse_with_code(response, self.system)
        return json_object(response, self.system)

    def _same_subject(self, call: Call, answered: Any) -> None:
        if answered != call.link:
            raise PermanentError(
                "crm answered about another customer than the one asked for; nothing of the "
                "answer was kept")


def _error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # a partner's body: any shape
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None

