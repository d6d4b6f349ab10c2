"""The demo customers are present in every system their links name, and fictitious."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from app.sandbox import DEMO_LINKS, SandboxState
from app.sandbox.seed import call_history, seed


def _luhn_ok(personnummer: str) -> bool:
    digits = personnummer.replace("-", "")[2:]
    total = 0
    for i, char in enumerate(digits):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value // 10 + value % 10
    return total % 10 == 0


def test_demo_links_point_at_seeded_records(state: SandboxState) -> None:
    stores: dict[str, Mapping[str, object]] = {"crm": state.crm, "fortnox": state.fortnox_customers, "stadsnat": state.stadsnat,
              "snpac": state.snpac, "eniro": state.eniro}
    assert set(DEMO_LINKS) == {"C-1001", "C-1002", "C-1003", "C-1004"}
    for customer, links in DEMO_LINKS.items():
        orders = {o["order_id"] for o in state.crm[customer].installation_orders}
        for system, link in links.items():
            if system == "installer":  # no API: the order is in the register
                assert link in orders, (customer, link)
            else:
                assert link in stores[system], (system, link)
        # the links table is the record of who holds the data: an installation company
        # that had an order has a link, so erasure and rectification reach it (art. 19)
        assert (links.get("installer") in orders) == bool(orders), customer
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
