"""The connectors are built one per partner in the registry, each able to do its actions."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
import respx

from app.connectors.base import Connector
from app.connectors.capabilities import CallsBack
from app.connectors.registry import build_connectors, close_connectors
from app.errors import PermanentError
from app.models import TaskStatus
from app.partners import PARTNERS, configured
from app.settings import Settings
from tests.connectors.conftest import MakeCall

EXTRA_ACTIONS = {("crm", "stop_marketing"), ("crm", "assess_objection"), ("eniro", "unlist"),
                 ("snpac", "port_number")}


def test_one_connector_per_partner(connectors: dict[str, Connector]) -> None:
    assert set(connectors) == set(PARTNERS)
    for name, connector in connectors.items():
        assert connector.system == name


def test_every_catalogue_action_is_supported(connectors: dict[str, Connector]) -> None:
    from app.rights import actions

    needed = actions()
    for system, action in needed | EXTRA_ACTIONS:
        assert action in cast(Any, connectors[system]).actions, (system, action)


def test_each_system_gets_its_own_egress_and_limits(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    settings = Settings(_env_file=None, crm_url="https://crm.example.com/api/",
                        eniro_timeout_s=3.5)
    connectors = build_connectors(settings, client)
    egresses = {n: cast(Any, c).egress for n, c in connectors.items() if not PARTNERS[n].manual}
    assert len({id(e) for e in egresses.values()}) == len(configured())
    assert egresses["crm"].base_url == "https://crm.example.com/api"
    assert egresses["fortnox"].limits.rate == 25 and egresses["fortnox"].limits.per_s == 5.0
    assert egresses["eniro"].limits.timeout_s == 3.5
    assert all(e.system == name for name, e in egresses.items())


async def test_each_partner_gets_a_pool_of_its_own_sized_to_its_concurrency() -> None:
    settings = Settings(_env_file=None, crm_concurrency=8, eniro_concurrency=2)
    connectors = build_connectors(settings)
    egresses = {n: cast(Any, c).egress for n, c in connectors.items() if not PARTNERS[n].manual}
    clients = {n: e.client for n, e in egresses.items()}
    assert len({id(c) for c in clients.values()}) == len(configured())
    for name, egress in egresses.items():
        pool = egress.client._transport._pool
        assert pool._max_connections == egress.limits.concurrency, name
        assert pool._max_keepalive_connections == egress.limits.concurrency, name
    assert egresses["crm"].limits.concurrency == 8 and egresses["eniro"].limits.concurrency == 2
    await close_connectors(connectors)
    assert all(client.is_closed for client in clients.values())


async def test_a_client_passed_in_is_shared_and_left_open(client: httpx.AsyncClient) -> None:
    connectors = build_connectors(Settings(_env_file=None), client)
    await close_connectors(connectors)
    assert not client.is_closed
    assert all(cast(Any, c).egress.client is client
               for n, c in connectors.items() if not PARTNERS[n].manual)


@pytest.mark.parametrize("action", ["export", "erase", "rectify", "restrict"])
async def test_installer_actions_are_manual_and_send_nothing(
    connectors: dict[str, Connector], make_call: MakeCall, respx_mock: respx.MockRouter,
    action: str,
) -> None:
    outcome = await connectors["installer"].execute(make_call("installer", action))
    assert outcome.status is TaskStatus.manual
    assert "installation company" in outcome.summary
    assert "ORD-88001" not in outcome.summary
    assert not respx_mock.calls


async def test_installer_has_no_callbacks(
    connectors: dict[str, Connector], make_call: MakeCall
) -> None:
    installer = connectors["installer"]
    assert await installer.poll(make_call("installer", "erase")) is None
    assert not isinstance(installer, CallsBack)
    with pytest.raises(PermanentError):
        await installer.execute(make_call("installer", "port_number"))
