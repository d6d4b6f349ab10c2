"""Production refuses unsafe settings; health, readiness, logs without personal data; OpenAPI."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from click.testing import CliRunner

from app.cli import main as cli
from app.openapi import render
from app.settings import Settings, UnsafeSettings
from tests.conftest import ROOT
from tests.helpers import assert_problem

SAFE_PROD = {
    "env": "production", "jwt_secret": "a-real-production-secret-" + "z" * 20,
    "data_key": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLTMyLWJ5dGU=",
    **{f"{s}_url": f"https://{s}.partner.example" for s in
       ("crm", "stadsnat", "fortnox", "snpac", "eniro")},
    **{f"{s}_webhook_secret": "whsec_c2VjcmV0" for s in ("stadsnat", "snpac", "eniro")},
}


def prod(**over: object) -> Settings:
    return Settings(_env_file=None, **{**SAFE_PROD, **over})  # type: ignore[arg-type]


def test_safe_production_settings_pass() -> None:
    settings = prod()
    settings.check_production()
    assert settings.sandbox_enabled is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"jwt_secret": "dsr-development-secret-do-not-use-in-production"}, "development secret"),
        ({"fortnox_url": "http://fortnox.partner.example"}, "DSR_FORTNOX_URL"),
        ({"crm_url": None}, "DSR_CRM_URL"),  # the default is the plain-HTTP sandbox
        ({"sandbox": True}, "DSR_SANDBOX"),
        ({"eniro_webhook_secret": None}, "DSR_ENIRO_WEBHOOK_SECRET"),
    ],
)
def test_production_refuses_unsafe_values(override: dict[str, object], message: str) -> None:
    with pytest.raises(UnsafeSettings, match=message):
        prod(**override).check_production()


def test_cli_refuses_in_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSR_ENV", "production")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "refusing to start" in lines[0] and "DSR_" in lines[0]


def test_cli_token_prints_only_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "portal", "--customer", "C-1001"])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1 and result.output.count(".") == 2
    bad = CliRunner().invoke(cli, ["token", "--role", "portal"])
    assert bad.exit_code != 0


def test_cli_keygen_makes_a_usable_data_key() -> None:
    from app.services.vault import Vault

    result = CliRunner().invoke(cli, ["keygen"])
    assert result.exit_code == 0
    key = result.output.strip()
    vault = Vault(Settings(_env_file=None, data_key=key))  # type: ignore[call-arg, arg-type]
    assert vault.open(vault.seal({"a": 1})) == {"a": 1}
    assert key != CliRunner().invoke(cli, ["keygen"]).output.strip()


async def test_health_and_readiness(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_readiness_fails_when_database_is_gone(app, client) -> None:  # type: ignore[no-untyped-def]
    from app.db import create_engine

    good = app.state.engine
    app.state.engine = create_engine("sqlite+aiosqlite:////nonexistent-dir/x.db")
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.engine.dispose()
        app.state.engine = good
    assert response.status_code == 503


async def test_unknown_route_and_method_are_problems(client, agent) -> None:  # type: ignore[no-untyped-def]
    assert_problem(await client.get("/v1/nothing", headers=agent), 404)
    assert_problem(await client.delete("/v1/requests", headers=agent), 405)
    assert_problem(await client.get("/v1/requests/not-a-uuid", headers=agent), 422)


async def test_logs_are_json_with_request_ids_and_no_personal_data(
    client, portal, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    from app.logging import JsonFormatter

    caplog.set_level(logging.INFO)
    secret_email = "anna.privat@example.se"
    await client.post("/v1/requests", headers={**portal, "X-Request-ID": "req-abcdef12"},
                      json={"type": "rectification",
                            "details": {"changes": {"email": secret_email}}})
    await client.post("/v1/requests", headers=portal,
                      json={"type": "rectification", "details": {"changes": {"email": "bad"}}})
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert lines, "the access log must write a line per call"
    parsed = [json.loads(line) for line in lines]
    access = [p for p in parsed if p["logger"] == "app.access"]
    assert access[0]["request_id"] == "req-abcdef12" and access[0]["path"] == "/v1/requests"
    assert all("request_id" in p for p in access)
    text = "\n".join(lines)
    assert secret_email not in text and "127.0.0.1" not in text


async def test_unexpected_errors_are_opaque_500s(app, client, agent, caplog) -> None:  # type: ignore[no-untyped-def]
    from app.services import requests as svc

    original = svc.list_requests

    async def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("SELECT * FROM dsr_request WHERE email='x@example.se'")

    svc.list_requests = boom  # type: ignore[assignment]
    try:
        response = await client.get("/v1/requests", headers=agent)
    finally:
        svc.list_requests = original
    body = assert_problem(response, 500)
    assert "SELECT" not in response.text and "x@example.se" not in response.text
    assert "request ID" in body["detail"]
    assert all("x@example.se" not in r.getMessage() and "x@example.se" not in str(r.__dict__)
               for r in caplog.records)


def test_openapi_document_is_fresh() -> None:
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render(), "openapi/openapi.json is stale: run `dsr openapi --output openapi/openapi.json`"


def test_every_route_documents_its_errors() -> None:
    document = json.loads(render())
    for path, methods in document["paths"].items():
        if path in ("/healthz", "/readyz", "/metrics"):
            continue
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert "401" in codes, f"{method.upper()} {path} does not document 401"
            assert any(c.startswith("4") and c not in ("401",) for c in codes), (method, path)


def test_migrations_match_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Alembic's autogenerate finds nothing to add: the models and migrations agree."""
    code = (
        "from alembic.autogenerate import compare_metadata\n"
        "from alembic.migration import MigrationContext\n"
        "from sqlalchemy import create_engine\n"
        "from sqlmodel import SQLModel\n"
        "import app.models\n"
        "from app.migrate import upgrade\n"
        f"upgrade('sqlite+aiosqlite:///{tmp_path}/m.db')\n"
        f"engine = create_engine('sqlite:///{tmp_path}/m.db')\n"
        "with engine.connect() as c:\n"
        "    diff = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)\n"
        "print(len(diff)); print(diff)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0] == "0", out.stdout


async def test_metrics_count_requests_overdue_and_tasks(client, agent, portal) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import agent_body, create

    await create(client, portal, {"type": "access"})
    await create(client, portal, {"type": "access"})
    await create(client, agent, agent_body("erasure"))
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'dsr_requests{status="in_progress",type="access"} 2.0' in text
    assert 'dsr_requests{status="awaiting_verification",type="erasure"} 1.0' in text
    assert "dsr_requests_overdue 0.0" in text
    assert 'dsr_tasks{status="pending",system="crm"} 3.0' in text
    assert "C-1001" not in text
