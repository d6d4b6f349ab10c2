"""The partner registry: one entry per partner, its connector able to do what the entry says,
its settings reached by the contract's flat names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.connectors.capabilities import (
    CallHistory,
    CallsBack,
    ContractSource,
    Executes,
    Polled,
)
from app.connectors.config import PartnerSettings
from app.connectors.registry import build_connectors, close_connectors
from app.models import RequestType
from app.partners import (
    DIRECTORY,
    PARTNERS,
    PORTING,
    REGISTER,
    Partner,
    System,
    callback_systems,
    own_systems,
    partner,
    register,
    with_role,
)
from app.rights import RIGHTS
from app.settings import Settings, UnsafeSettings, load_settings


@pytest.fixture
async def connectors() -> AsyncIterator[dict[str, object]]:
    async with httpx.AsyncClient() as client:
        built = build_connectors(Settings(_env_file=None), client)
        yield dict(built)
        await close_connectors(built)


def test_every_entry_has_a_connector_that_executes_and_can_be_polled(
    connectors: dict[str, object],
) -> None:
    assert list(connectors) == list(PARTNERS)
    for name, connector in connectors.items():
        assert isinstance(connector, Executes) and isinstance(connector, Polled), name
        assert type(connector) is PARTNERS[name].connector
        assert PARTNERS[name].connector.system == name


def test_callback_systems_are_exactly_the_entries_whose_connectors_call_back(
    connectors: dict[str, object],
) -> None:
    calling_back = tuple(name for name, c in connectors.items() if isinstance(c, CallsBack))
    assert callback_systems() == calling_back
    assert calling_back == tuple(name for name, entry in PARTNERS.items() if entry.calls_back)
    assert calling_back, "some partner answers by webhook"


def test_the_register_holds_the_call_history_and_the_contracts(
    connectors: dict[str, object],
) -> None:
    own = register()
    assert own.own and not own.needs_link and REGISTER in own.roles
    assert isinstance(connectors[own.name], CallHistory)
    assert isinstance(connectors[own.name], ContractSource)
    assert own_systems() == {own.name}
    others = [c for name, c in connectors.items() if name != own.name]
    assert not any(isinstance(c, CallHistory | ContractSource) for c in others)


@pytest.mark.parametrize("role", [REGISTER, DIRECTORY, PORTING])
def test_each_role_is_held_by_one_partner(role: str) -> None:
    holders = [entry for entry in PARTNERS.values() if role in entry.roles]
    assert len(holders) == 1
    assert with_role(role) is holders[0]


def test_unknown_names_and_roles_are_refused() -> None:
    with pytest.raises(KeyError, match="no partner"):
        partner("nobody")
    with pytest.raises(ValueError, match="unknown role"):
        with_role("nobody")
    with pytest.raises(ValueError, match="unknown roles"):
        Partner(name="x", title="X", key="id", holds=(), connector=object,
                roles=frozenset({"nobody"}))


def test_a_manual_partner_has_no_settings_and_every_other_one_has_a_model() -> None:
    for entry in PARTNERS.values():
        if entry.manual:
            assert entry.settings is None, entry.name
        else:
            assert entry.settings is not None and issubclass(entry.settings, PartnerSettings)


def test_the_actions_of_each_right_are_what_the_connectors_carry_out() -> None:
    for entry in PARTNERS.values():
        assert set(entry.actions) <= set(RequestType), entry.name
        assert set(entry.actions.values()) <= set(entry.connector.actions), entry.name  # type: ignore[attr-defined]
    for right in RIGHTS.values():
        assert list(right.actions) == [name for name, entry in PARTNERS.items()
                                       if right.type in entry.actions]


def test_the_system_enum_follows_the_registry() -> None:
    assert [member.value for member in System] == list(PARTNERS)


# -- settings ----------------------------------------------------------------------------------


def test_flat_environment_variables_reach_the_nested_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DSR_FORTNOX_RATE", "10/2")
    monkeypatch.setenv("DSR_STADSNAT_URL", "https://stadsnat.example.com/api/")
    monkeypatch.setenv("DSR_FORTNOX_CLIENT_ID", "client-7")
    monkeypatch.setenv("DSR_ENIRO_CONCURRENCY", "2")
    settings = Settings(_env_file=None)
    fortnox = settings.partner_settings("fortnox")
    assert fortnox.rate == "10/2" and settings.limits("fortnox")[2:] == (10, 2.0)
    assert settings.fortnox_client_id == "client-7"
    assert settings.partner_settings("stadsnat").url == "https://stadsnat.example.com/api/"
    assert settings.partner_url("stadsnat") == "https://stadsnat.example.com/api"
    assert settings.limits("eniro")[1] == 2
    # The others keep their defaults, each its own.
    assert settings.limits("crm") == (10.0, 8, 0, 1.0)
    assert settings.partner_url("snpac").endswith("/sandbox/snpac")


def test_a_flat_keyword_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSR_FORTNOX_RATE", "10/2")
    settings = Settings(_env_file=None, fortnox_rate="3/1", crm_url="https://crm.example.com")
    assert settings.limits("fortnox")[2:] == (3, 1.0)
    assert settings.partner_url("crm") == "https://crm.example.com"
    assert settings.crm_url == "https://crm.example.com"


def test_an_invalid_partner_setting_is_reported_by_its_flat_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DSR_FORTNOX_RATE", "fast")
    with pytest.raises(UnsafeSettings) as caught:
        load_settings(_env_file=None, crm_timeout_s=0)
    assert caught.value.problems == [
        "DSR_CRM_TIMEOUT_S: Input should be greater than 0",
        "DSR_FORTNOX_RATE: must be N/S, e.g. 25/5 for 25 calls per 5 seconds",
    ]


def test_webhook_secrets_and_keys_by_system() -> None:
    settings = Settings(_env_file=None, stadsnat_webhook_secret="whsec_a whsec_b",
                        snpac_api_key="key-1")
    assert settings.webhook_secrets("stadsnat") == ["whsec_a", "whsec_b"]
    assert settings.api_key("snpac") == "key-1" and settings.api_key("eniro") is None
    # A system without settings (the manual partner, the portal) has the development secret.
    assert settings.webhook_secrets("portal")[0].startswith("whsec_")
    with pytest.raises(KeyError):
        settings.partner_settings("installer")
