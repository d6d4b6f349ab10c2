"""The demo and synthetic customers are present in every system their links name, and
fictitious; a synthetic customer's request is carried out end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from app.models import Link
from app.sandbox import DEMO_LINKS, SandboxState
from app.sandbox.links import register_links
from app.sandbox.seed import call_history, seed
from app.sandbox.synthetic import synthetic_links
from tests.conftest import BACKEND
from tests.e2e.installer import finish
from tests.e2e.service import Api, Service, bearer, fresh_database, tasks_by_system

from .conftest import make_settings


def _luhn_ok(personnummer: str) -> bool:
    digits = personnummer.replace("-", "")[2:]
    total = 0
    for i, char in enumerate(digits):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value // 10 + value % 10
    return total % 10 == 0


def _assert_links_point_at_records(state: SandboxState,
                                   links_of: Mapping[str, Mapping[str, str]]) -> None:
    stores: dict[str, Mapping[str, object]] = {
        "crm": state.crm, "fortnox": state.fortnox_customers, "stadsnat": state.stadsnat,
        "snpac": state.snpac, "eniro": state.eniro}
    for customer, links in links_of.items():
        orders = {o["order_id"] for o in state.crm[customer].installation_orders}
        for system, link in links.items():
            if system == "installer":  # no API: the order is in the register
                assert link in orders, (customer, link)
            else:
                assert link in stores[system], (system, link)
        # the links table is the record of who holds the data: an installation company
        # that had an order has a link, so erasure and rectification reach it (art. 19)
        assert (links.get("installer") in orders) == bool(orders), customer


def test_demo_links_point_at_seeded_records(state: SandboxState) -> None:
    assert set(DEMO_LINKS) == {"C-1001", "C-1002", "C-1003", "C-1004"}
    _assert_links_point_at_records(state, DEMO_LINKS)
    assert set(DEMO_LINKS["C-1001"]) == {"crm", "stadsnat", "fortnox", "snpac", "eniro",
                                         "installer"}
    assert DEMO_LINKS["C-1001"]["installer"] == "ORD-88001"
    assert set(DEMO_LINKS["C-1002"]) == {"crm", "stadsnat", "fortnox"}
    assert set(DEMO_LINKS["C-1003"]) == {"crm", "fortnox"}
    assert set(DEMO_LINKS["C-1004"]) == {"crm"}


def test_customers_match_their_stories(state: SandboxState) -> None:
    now = datetime.now(UTC)
    active, ended, locked = state.crm["C-1001"], state.crm["C-1002"], state.crm["C-1003"]
    assert active.contract.status == "active" and active.contract.ended_at is None
    assert any(c.purpose == "marketing" and c.given for c in active.consents)
    assert active.sources == ["self", "SPAR", "UC", "call_history"]
    assert active.order_ip_log and all(now - e.at < timedelta(hours=24)
                                       for e in active.order_ip_log)
    assert len(active.call_history) == 50
    assert ended.contract.ended_at is not None
    assert timedelta(days=50) < now - ended.contract.ended_at < timedelta(days=70)
    assert locked.contract.ended_at is not None
    assert now - locked.contract.ended_at > timedelta(days=183)

    def invoices(number: str) -> list[float]:
        return [inv.balance for inv in state.fortnox_invoices if inv.customer_number == number]

    assert invoices("1001") and all(b == 0 for b in invoices("1001"))
    assert any(b > 0 for b in invoices("1002")) and any(b == 0 for b in invoices("1002"))
    assert invoices("1003") and all(b == 0 for b in invoices("1003"))


def test_personal_data_is_fictitious() -> None:
    for customer in seed().crm.values():
        assert customer.personnummer is not None and _luhn_ok(customer.personnummer)
        assert customer.personnummer[9:11] == "98"  # Skatteverket test-number style serials
        assert customer.email is not None
        assert customer.email.endswith(("@example.se", "@example.com"))
        assert customer.phone is not None and customer.phone.startswith("+46470")
        assert customer.address is not None and customer.address.city == "Växjö"
        for entry in customer.order_ip_log:
            assert entry.ip.startswith(("192.0.2.", "2001:db8:"))


def test_call_history_is_deterministic_and_ordered() -> None:
    end = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    first, second = call_history("C-1001", 50, end, 60), call_history("C-1001", 50, end, 60)
    assert [r.as_dict() for r in first] == [r.as_dict() for r in second]
    assert [r.at for r in first] == sorted(r.at for r in first)
    assert len({r.id for r in first}) == 50


def test_reseed_restores_the_demo_data(state: SandboxState) -> None:
    del state.eniro["HIT-7K2P9Q"]
    state.reseed()
    assert "HIT-7K2P9Q" in state.eniro


def test_large_call_history_is_generated_not_stored(state: SandboxState) -> None:
    from app.sandbox.seed import LARGE_HISTORY_ROWS, GeneratedCallHistory

    history = state.crm["C-1004"].call_history
    assert isinstance(history, GeneratedCallHistory)
    assert len(history) == LARGE_HISTORY_ROWS == 1_000_000
    assert not any(isinstance(v, list | tuple | dict) for v in vars(history).values())  # no rows stored
    assert state.crm["C-1004"].contract.status == "active"
    page = history[999_990:1_000_010]
    assert len(page) == 10 and page[-1].id == "CH-1004-1000000"
    assert [r.at for r in page] == sorted(r.at for r in page)
    # the same clock gives the same rows (a seed of its own a second later is dated later)
    assert history[0].as_dict() == seed(history.end).crm["C-1004"].call_history[0].as_dict()
    assert history.position("CH-1004-0000042") == 41
    now = datetime.now(UTC)
    recent = history.since(now - timedelta(days=1))
    assert 0 < len(recent) < 10_000 and recent[0].at >= now - timedelta(days=1)
    assert recent[-1].id == history[-1].id


# -- synthetic customers (DSR_SANDBOX_CUSTOMERS) ----------------------------------------------

SYNTHETIC = 25


def test_synthetic_customers_have_records_in_every_partner() -> None:
    state = SandboxState(make_settings(sandbox_customers=SYNTHETIC))
    links = synthetic_links(SYNTHETIC)
    assert list(links)[:2] == ["C-100001", "C-100002"] and len(links) == SYNTHETIC
    assert len(state.crm) == len(DEMO_LINKS) + SYNTHETIC
    _assert_links_point_at_records(state, links)
    for customer, systems in links.items():
        assert {"crm", "stadsnat", "fortnox", "snpac", "eniro"} <= set(systems), customer
        record = state.crm[customer]
        number = record.personnummer or ""
        assert _luhn_ok(number) and number[-4:-2] == "98", number
        assert record.email and record.email.endswith("@example.se")
        assert record.call_history and record.billing
    assert sum("installer" in systems for systems in links.values()) == SYNTHETIC // 10
    assert len({c.personnummer for c in state.crm.values()}) == len(state.crm)
    # the same people on every start, and reseeding brings them back
    again = SandboxState(make_settings(sandbox_customers=SYNTHETIC))
    assert again.crm["C-100007"].name == state.crm["C-100007"].name
    del state.crm["C-100007"]
    state.reseed()
    assert "C-100007" in state.crm


def test_no_synthetic_customers_by_default(state: SandboxState) -> None:
    assert set(state.crm) == set(DEMO_LINKS)


async def test_links_are_registered_in_bulk_once(database_url: str) -> None:
    links = synthetic_links(SYNTHETIC)
    mine = col(Link.customer_number).in_(list(links))
    engine = create_async_engine(database_url)
    try:
        for _ in range(2):  # a second start changes nothing
            async with engine.begin() as connection:
                offered = await register_links(connection, links)
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(col(Link.system), func.count()).where(mine).group_by(Link.system))).all()
        # the register is keyed by the customer number: no link of its own
        assert dict(rows) == {"stadsnat": SYNTHETIC, "fortnox": SYNTHETIC, "snpac": SYNTHETIC,
                              "eniro": SYNTHETIC, "installer": SYNTHETIC // 10}
        assert offered == sum(n for _, n in rows)
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(Link).where(mine))
        await engine.dispose()


def test_a_synthetic_customer_is_served_end_to_end(tmp_path: Path) -> None:
    async def link(url: str) -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await register_links(connection, synthetic_links(SYNTHETIC))
        await engine.dispose()

    with fresh_database(BACKEND, tmp_path) as url:
        service = Service(url, tmp_path, env={"DSR_SANDBOX_CUSTOMERS": str(SYNTHETIC)})
        service.start()
        try:
            asyncio.run(link(url))
            with service.client() as client:
                api = Api(client)
                plain = api.create({"type": "access"}, bearer("portal", "C-100003"))
                installed = api.create({"type": "erasure"}, bearer("portal", "C-100010"))
                final = finish(api, [plain["id"], installed["id"]])
        finally:
            service.stop()
    access = tasks_by_system(final[plain["id"]])
    assert set(access) == {"crm", "stadsnat", "fortnox", "snpac", "eniro"}
    assert {task["status"] for task in access.values()} == {"done"}
    erasure = tasks_by_system(final[installed["id"]])
    assert set(erasure) == {"crm", "stadsnat", "fortnox", "snpac", "eniro", "installer"}
