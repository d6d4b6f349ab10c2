"""Helpers for the response-package tests: drive a request to its end, download, unpack.

Partners are played by :mod:`tests.services.fakes` (scripted connectors) and, where the real
protocols matter (C-1002's retained invoices), by the sandbox through in-process transport.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.connectors import base
from app.services.dispatch import Dispatcher
from tests.conftest import make_settings
from tests.helpers import create
from tests.services.fakes import FakeConnector, fakes

PERSONAL = ("Astrid Exempelsson", "19850412-9803", "astrid.exempelsson@example.se")

CRM_DATA: dict[str, Any] = {
    "customer_data": {
        "customer_number": "C-1001", "name": "Astrid Exempelsson",
        "personnummer": "19850412-9803", "email": "astrid.exempelsson@example.se",
        "phone": "+46470123456",
        "address": {"street": "Storgatan 12 A", "postal_code": "352 31", "city": "Växjö"},
        "contract": {"status": "active", "started_at": "2021-03-15T09:00:00Z", "ended_at": None},
        "call_history_count": 3, "locked": False, "restricted": False,
        "marketing_stopped": False,
    },
    "services": [{"service_id": "SN-440017", "kind": "fibre_broadband_1000",
                  "since": "2021-03-15T09:00:00Z"}],
    "consents": [{"purpose": "marketing", "given": True, "at": "2021-03-15T09:00:00Z"}],
    "sources": ["self", "SPAR", "UC", "call_history"],
    "order_ip_log": [{"ip": "192.0.2.41", "at": "2026-11-29T05:00:00Z"}],
    "billing": [{"invoice_number": "5101", "invoice_date": "2026-09-01", "amount_sek": 399.0,
                 "paid": True}],
}
FORTNOX_DATA: dict[str, Any] = {
    "customer_card": {"CustomerNumber": "1001", "Name": "Astrid Exempelsson",
                      "OrganisationNumber": "19850412-9803"},
    "invoices": [{"DocumentNumber": "5101", "InvoiceDate": "2026-09-01", "Total": 399.0,
                  "Balance": 0.0, "Booked": True, "Cancelled": False}],
}
PROVIDED: dict[str, Any] = {
    "customer": [{"customer_number": "C-1001", "name": "Astrid Exempelsson",
                  "personnummer": "19850412-9803", "email": "astrid.exempelsson@example.se",
                  "phone": "+46470123456", "street": "Storgatan 12 A, \"uppgång\" 2",
                  "postal_code": "352 31", "city": "Växjö"}],
    "services": [{"service_id": "SN-440017", "kind": "fibre_broadband_1000",
                  "since": "2021-03-15T09:00:00Z"},
                 {"service_id": "TEL-470123456", "kind": "ip_telephony",
                  "since": "2021-03-20T09:00:00Z"}],
    "consents": [{"purpose": "marketing", "given": True, "at": "2021-03-15T09:00:00Z"},
                 {"purpose": "analytics", "given": False, "at": None}],
}


def call_rows(count: int) -> Callable[[str], AsyncIterator[list[dict[str, Any]]]]:
    """A register's call history of ``count`` rows, paged like the real one (1000 a page)."""

    async def pages(link: str) -> AsyncIterator[list[dict[str, Any]]]:
        for start in range(0, count, 1000):
            yield [{"id": f"CH-1001-{i:07d}", "at": f"2026-10-{1 + i % 28:02d}T10:00:00Z",
                    "direction": "out", "kind": "call", "counterpart": "+46701740605",
                    "duration_s": 60 + i % 7} for i in range(start, min(count, start + 1000))]

    return pages


class CrmFake(FakeConnector):
    """The register's connector, faked: access data plus a streamed call history."""

    def __init__(self, behaviour: Any = None, calls: int = 3) -> None:
        super().__init__("crm", behaviour)
        self.iter_call_history = call_rows(calls)


def connectors(crm_calls: int = 3, **behaviours: Any) -> dict[str, Any]:
    made = fakes(**behaviours)
    made["crm"] = CrmFake(behaviours.get("crm"), crm_calls)
    return made


def access_behaviours() -> dict[str, Any]:
    return {
        "crm": lambda call: base.done("Exported the customer record.", CRM_DATA),
        "fortnox": lambda call: base.done("Exported the card and 1 invoice.", FORTNOX_DATA),
    }


async def link(client: httpx.AsyncClient, agent: dict[str, str], customer: str, system: str,
               ext: str) -> None:
    response = await client.put(f"/v1/links/{customer}/{system}", json={"external_id": ext},
                                headers=agent)
    assert response.status_code == 200, response.text


async def finish(app: Any, client: httpx.AsyncClient, headers: dict[str, str],
                 body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """Create a request, run every task with ``made`` connectors, and use them to build."""
    created = await create(client, headers, body)
    settings = make_settings(app.state.settings.database_url)
    await Dispatcher(settings, app.state.sessionmaker, made).run_until_idle()
    app.state.connectors = made
    response = await client.get(f"/v1/requests/{created['id']}", headers=headers)
    result: dict[str, Any] = response.json()
    return result


async def download(client: httpx.AsyncClient, headers: dict[str, str],
                   request_id: str) -> zipfile.ZipFile:
    response = await client.get(f"/v1/requests/{request_id}/response", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    return zipfile.ZipFile(io.BytesIO(response.content))


def check_manifest(package: zipfile.ZipFile, expected: set[str]) -> dict[str, Any]:
    """Every file is listed with its true size and SHA-256, and nothing else is there."""
    manifest: dict[str, Any] = json.loads(package.read("manifest.json"))
    names = {f["name"] for f in manifest["files"]}
    assert names == expected - {"manifest.json"}
    assert set(package.namelist()) == expected
    for entry in manifest["files"]:
        body = package.read(entry["name"])
        assert entry["size"] == len(body)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
    return manifest


@pytest.fixture
def made_access() -> dict[str, Any]:
    return connectors(**access_behaviours())
