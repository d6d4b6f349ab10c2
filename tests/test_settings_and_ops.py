"""Production refuses unsafe settings; health, readiness, logs without personal data; OpenAPI."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import subprocess
import sys

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.cli import main as cli
from app.openapi import render
from app.partners import callback_systems, configured
from app.settings import (
    DEV_DATA_KEY,
    DEV_JWT_SECRET,
    Settings,
    UnsafeSettings,
    dev_webhook_secret,
)
from tests.conftest import ROOT
from tests.helpers import assert_problem


def _whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


SAFE_PROD = {
    "env": "production", "jwt_secret": secrets.token_urlsafe(32),
    "data_key": Fernet.generate_key().decode(), "audit_key": secrets.token_urlsafe(32),
    "database_url": "postgresql+asyncpg://dsr@db.internal/dsr",
    "public_url": "https://dsr.connect2ip.se",
    "fortnox_client_id": "connect2ip-dsr", "fortnox_client_secret": secrets.token_urlsafe(24),
    # Every partner with settings, from the registry: a new one is covered without an edit.
    **{f"{entry.name}_url": f"https://{entry.name}.partner.example" for entry in configured()},
    **{f"{name}_webhook_secret": _whsec() for name in callback_systems()},
}


def prod(**over: object) -> Settings:
    return Settings(_env_file=None, **{**SAFE_PROD, **over})  # type: ignore[arg-type]


def test_safe_production_settings_pass() -> None:
    settings = prod()
    settings.check_production()
    assert settings.sandbox_enabled is False
    # Several keys and secrets during a rotation, and a public key instead of a secret.
    prod(data_key=f"{Fernet.generate_key().decode()} {SAFE_PROD['data_key']}",
         stadsnat_webhook_secret=f"{_whsec()} {_whsec()}").check_production()
    prod(jwt_secret=DEV_JWT_SECRET, jwks_file=None,
         jwt_public_key=RSA_PUBLIC_PEM).check_production()


RSA_PUBLIC_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())
UNSAFE = [
    ({"jwt_secret": DEV_JWT_SECRET}, "DSR_JWT_SECRET is the development secret"),
    ({"jwt_secret": DEV_JWT_SECRET + " "}, "DSR_JWT_SECRET is the development secret"),
    ({"jwt_secret": "a" * 32}, "DSR_JWT_SECRET is too predictable"),
    ({"jwt_secret": "abcd" * 12}, "DSR_JWT_SECRET is too predictable"),
    ({"data_key": DEV_DATA_KEY}, "DSR_DATA_KEY is the development key"),
    ({"data_key": f"{SAFE_PROD['data_key']} {DEV_DATA_KEY}"},
     "DSR_DATA_KEY (key 2) is the development key"),
    ({"data_key": base64.urlsafe_b64encode(b"a" * 32).decode()}, "DSR_DATA_KEY is not random"),
    ({"data_key": "not-a-key"}, "DSR_DATA_KEY is not a Fernet key"),
    ({"fortnox_url": "http://fortnox.partner.example"}, "DSR_FORTNOX_URL"),
    ({"crm_url": None}, "DSR_CRM_URL must be set"),  # the default is the sandbox
    ({"sandbox": True}, "DSR_SANDBOX"),
    ({"eniro_webhook_secret": None}, "DSR_ENIRO_WEBHOOK_SECRET must be set"),
    ({"snpac_webhook_secret": dev_webhook_secret("snpac")},
     "DSR_SNPAC_WEBHOOK_SECRET is a development secret"),
    ({"snpac_webhook_secret": dev_webhook_secret("eniro")},
     "DSR_SNPAC_WEBHOOK_SECRET is a development secret"),
    ({"stadsnat_webhook_secret": "s3cr3t-shared-with-the-partner"},
     "DSR_STADSNAT_WEBHOOK_SECRET must be whsec_"),
    ({"stadsnat_webhook_secret": "whsec_c2VjcmV0"}, "at least 24 random bytes"),
    ({"stadsnat_webhook_secret": "whsec_" + base64.b64encode(b"x" * 32).decode()},
     "DSR_STADSNAT_WEBHOOK_SECRET is not random"),
    ({"public_url": None}, "DSR_PUBLIC_URL must be set"),
    ({"public_url": "http://dsr.connect2ip.se"}, "DSR_PUBLIC_URL must be set to the https://"),
    ({"database_url": "sqlite+aiosqlite:///./dsr.db"}, "DSR_DATABASE_URL must be a PostgreSQL"),
    ({"fortnox_client_secret": "sandbox-client-secret"}, "DSR_FORTNOX_CLIENT_SECRET"),
    ({"fortnox_client_id": "dsr-sandbox"}, "DSR_FORTNOX_CLIENT_ID"),
    ({"portal_webhook_url": "https://portal.internal/hooks",
      "portal_webhook_secret": dev_webhook_secret("portal")},
     "DSR_PORTAL_WEBHOOK_SECRET is a development secret"),
    ({"portal_webhook_url": "http://portal.internal/hooks", "portal_webhook_secret": _whsec()},
     "DSR_PORTAL_WEBHOOK_URL must be an https:// URL"),
]


@pytest.mark.parametrize(("override", "message"), UNSAFE)
def test_production_refuses_unsafe_values(override: dict[str, object], message: str) -> None:
    with pytest.raises(UnsafeSettings) as refused:
        prod(**override).check_production()
    assert len(refused.value.problems) == 1, refused.value.problems
    assert refused.value.problems[0].startswith(message) or message in refused.value.problems[0]


def test_every_unsafe_setting_is_reported_at_once() -> None:
    merged: dict[str, object] = {}
    for override, _message in UNSAFE:
        merged.update(override)
    with pytest.raises(UnsafeSettings) as refused:
        prod(**merged).check_production()
    names = {problem.split()[0] for problem in refused.value.problems}
    assert {"DSR_JWT_SECRET", "DSR_FORTNOX_URL", "DSR_CRM_URL", "DSR_SANDBOX",
            "DSR_PUBLIC_URL", "DSR_DATABASE_URL", "DSR_FORTNOX_CLIENT_SECRET",
            "DSR_FORTNOX_CLIENT_ID", "DSR_STADSNAT_WEBHOOK_SECRET", "DSR_SNPAC_WEBHOOK_SECRET",
            "DSR_ENIRO_WEBHOOK_SECRET", "DSR_PORTAL_WEBHOOK_URL", "DSR_DATA_KEY"} <= names
    assert str(refused.value).count("\n  - ") == len(refused.value.problems)


def test_cli_refuses_with_every_problem_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSR_ENV", "production")
    monkeypatch.setenv("DSR_JWT_SECRET", "a" * 40)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "refusing to start" in lines[0] and "unsafe settings" in lines[0]
    listed = [line for line in lines[1:] if line.startswith("  - DSR_")]
    assert len(listed) == len(lines) - 1 >= 10
    for name in ("DSR_PUBLIC_URL", "DSR_JWT_SECRET", "DSR_DATABASE_URL", "DSR_DATA_KEY", "DSR_CRM_URL", "DSR_ENIRO_WEBHOOK_SECRET",
                 "DSR_FORTNOX_CLIENT_SECRET"):
        assert any(name in line for line in listed), name


def test_cli_lists_every_invalid_value_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSR_FORTNOX_RATE", "fast")
    monkeypatch.setenv("DSR_PORT", "eighty")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code != 0
    assert "DSR_FORTNOX_RATE" in result.output and "DSR_PORT" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "dsr.example"])  # noqa: S104
def test_outside_production_serve_binds_loopback_only(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    result = CliRunner().invoke(cli, ["serve", "--host", host])
    assert result.exit_code != 0 and not started
    assert "not a loopback address" in result.output and "DSR_ENV=production" in result.output
    sandbox = CliRunner().invoke(cli, ["sandbox", "--host", host])
    assert sandbox.exit_code != 0 and "not a loopback address" in sandbox.output


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts_are_fine_in_development(host: str) -> None:
    Settings(_env_file=None).check_bind(host)  # type: ignore[call-arg]
    with pytest.raises(UnsafeSettings):
        Settings(_env_file=None, env="development").check_bind("0.0.0.0")  # type: ignore[call-arg]  # noqa: S104
    prod().check_bind("0.0.0.0")  # noqa: S104 - production serves others


def test_cli_token_prints_only_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "portal", "--customer", "C-1001"])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1 and result.output.count(".") == 2
    bad = CliRunner().invoke(cli, ["token", "--role", "portal"])
    assert bad.exit_code != 0


def test_cli_keygen_makes_a_webhook_secret_production_accepts() -> None:
    secret = CliRunner().invoke(cli, ["keygen", "--webhook"]).output.strip()
    prod(eniro_webhook_secret=secret).check_production()
    assert secret != CliRunner().invoke(cli, ["keygen", "--webhook"]).output.strip()


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
    from app.services import request_queries as svc

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


def test_the_answer_flag_migration_flags_final_requests_without_an_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0008 flags every final request that has no stored answer yet, and nothing else; and
    rewriting the table on SQLite loses nothing that refers to it."""
    import sqlite3

    from app.migrate import upgrade

    path = tmp_path / "flag.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0007")
    db = sqlite3.connect(path)
    for n, status in enumerate(("completed", "completed", "cancelled", "in_progress")):
        db.execute(
            "INSERT INTO dsr_request (id, type, status, customer_number, channel, language, "
            "details, received_at, due_at, extended_months, created_by, created_by_role, "
            "created_at, updated_at, audit_seq, audit_head) VALUES (?, 'access', ?, 'C-1001', "
            "'portal', 'sv', '{}', '2026-11-01', '2026-12-01', 0, 't', 'portal', "
            "'2026-11-01', '2026-11-01', 0, ?)", (f"{n:032x}", status, "0" * 64))
    db.execute(  # the first completed request has its answer already
        "INSERT INTO response_package (request_id, sha256, size, chunks, files, created_at, "
        "expires_at) VALUES (?, ?, 1, 1, '[]', '2026-11-02', '2026-12-02')",
        (f"{0:032x}", "0" * 64))
    db.commit()
    db.close()
    upgrade(f"sqlite+aiosqlite:///{path}")
    db = sqlite3.connect(path)
    flags = dict(db.execute("SELECT id, answer_pending FROM dsr_request ORDER BY id").fetchall())
    packages = db.execute("SELECT count(*) FROM response_package").fetchone()[0]
    db.close()
    assert flags == {f"{0:032x}": 0, f"{1:032x}": 1, f"{2:032x}": 1, f"{3:032x}": 0}
    # batch mode copies the table and drops the old one: with foreign keys enforced, the drop
    # deleted the answers that refer to it (ON DELETE CASCADE)
    assert packages == 1


def test_rebuilding_the_task_table_keeps_its_results(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0007 rewrites ``task`` on SQLite; the task results that refer to it stay."""
    import sqlite3

    from app.migrate import upgrade

    path = tmp_path / "tasks.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0006")
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO dsr_request (id, type, status, customer_number, channel, language, "
        "details, received_at, due_at, extended_months, created_by, created_by_role, "
        "created_at, updated_at, audit_seq, audit_head) VALUES ('r1', 'access', 'completed', "
        "'C-1001', 'portal', 'sv', '{}', '2026-11-01', '2026-12-01', 0, 't', 'portal', "
        "'2026-11-01', '2026-11-01', 0, 'x')")
    db.execute(
        "INSERT INTO task (id, request_id, system, action, status, attempts, dispatch_round, "
        "delivery_uncertain, created_at, updated_at) VALUES ('t1', 'r1', 'crm', 'export', "
        "'done', 1, 0, 0, '2026-11-01', '2026-11-01')")
    db.execute("INSERT INTO task_result (task_id, request_id, ciphertext, created_at) "
               "VALUES ('t1', 'r1', x'00', '2026-11-01')")
    db.commit()
    db.close()
    upgrade(f"sqlite+aiosqlite:///{path}", "0007")
    db = sqlite3.connect(path)
    results = db.execute("SELECT count(*) FROM task_result").fetchone()[0]
    db.close()
    assert results == 1


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


def test_a_long_running_process_freezes_what_start_up_made_and_collects_young_objects_less_often(
) -> None:
    """``dsr serve`` and ``dsr worker`` tune the collector once started (app.runtime.tune_gc):
    the start-up objects are never scanned again, and young collections come every 10,000
    new objects instead of 700."""
    import gc

    from app.runtime import GC_YOUNG_THRESHOLD, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert before[0] < GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def _dsr(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run ``dsr`` in a child process, as an operator does (a traceback shows there)."""
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
    clean.update({"DSR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db", **env})
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_retention_as_of_out_of_range_is_one_line_not_a_traceback(tmp_path, as_of) -> None:  # type: ignore[no-untyped-def]
    run = _dsr(tmp_path, "retention", "run", "--as-of", as_of)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr + run.stdout
    assert "--as-of" in run.stderr and "2000-01-01 to 2100-12-31" in run.stderr


def test_worker_on_a_metrics_port_in_use_is_one_line_not_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _dsr(tmp_path, "worker", "--metrics-port", str(port))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr + run.stdout
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], run.stderr


def test_production_runs_retention_as_of_today_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A production run as of a past date told real partners Sandbox-As-Of; a simulated date
    is for development, and production acts as of today (or lists with --dry-run)."""
    env = {f"DSR_{key.upper()}": str(value) for key, value in SAFE_PROD.items()}
    run = _dsr(tmp_path, "retention", "run", "--as-of", "2026-01-01", **env)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "as of another day than today in production" in run.stderr, run.stderr


HUMAN_MADE = ["Connect2IP-production-jwt-secret-2026!!", "Connect2IP-prod-JWT-s3cret-2026-dsr-key",
              "MyCompanyIsConnect2IPandThisIsOurSecretKey", "Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4dor&3"]


@pytest.mark.parametrize("secret", HUMAN_MADE)
def test_production_refuses_a_secret_a_person_made_up(secret: str) -> None:
    """Plenty of distinct characters passed the entropy count; zxcvbn guesses as attackers
    do (words, years, l33t, repeats, and this service's own words)."""
    for name in ("jwt_secret", "audit_key"):
        with pytest.raises(UnsafeSettings) as refused:
            prod(**{name: secret}).check_production()
        assert refused.value.problems == [p for p in refused.value.problems
                                          if p.startswith(f"DSR_{name.upper()}")]
        assert len(refused.value.problems) == 1 and secret not in str(refused.value)
    # random ones, and a long passphrase of unrelated words, pass
    prod(jwt_secret=secrets.token_urlsafe(32), audit_key=secrets.token_hex(32)).check_production()
    prod(jwt_secret="correct horse battery staple extra words here").check_production()


@pytest.mark.parametrize("text", [b"connect2ip-production-data-key!!", b"0123456789abcdefghijklmnopqrstuv"])
def test_production_refuses_keys_that_are_base64_of_text(text: bytes) -> None:
    with pytest.raises(UnsafeSettings) as refused:
        prod(data_key=base64.urlsafe_b64encode(text).decode()).check_production()
    assert [p.split()[0] for p in refused.value.problems] == ["DSR_DATA_KEY"]
    webhook = "whsec_" + base64.b64encode(text).decode()
    with pytest.raises(UnsafeSettings) as refused:
        prod(stadsnat_webhook_secret=webhook).check_production()
    assert [p.split()[0] for p in refused.value.problems] == ["DSR_STADSNAT_WEBHOOK_SECRET"]


def test_production_refuses_one_secret_shared_by_partners() -> None:
    shared = _whsec()
    with pytest.raises(UnsafeSettings) as refused:
        prod(stadsnat_webhook_secret=shared, snpac_webhook_secret=f"{_whsec()} {shared}",
             eniro_webhook_secret=shared).check_production()
    (problem,) = refused.value.problems
    for name in ("DSR_STADSNAT_WEBHOOK_SECRET", "DSR_SNPAC_WEBHOOK_SECRET",
                 "DSR_ENIRO_WEBHOOK_SECRET"):
        assert name in problem
    assert shared not in problem
    # the same key in other base64 (no padding) is the same secret
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(UnsafeSettings) as refused:
        prod(portal_webhook_url="https://portal.internal/hooks",
             portal_webhook_secret=f"whsec_{key}",
             eniro_webhook_secret=f"whsec_{key.rstrip('=')}=").check_production()
    assert ["DSR_ENIRO_WEBHOOK_SECRET" in p and "DSR_PORTAL_WEBHOOK_SECRET" in p
            for p in refused.value.problems] == [True]


def test_an_invalid_value_does_not_hide_the_unsafe_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A 31-character secret (a field error) used to be the one problem reported."""
    env = {f"DSR_{key.upper()}": str(value) for key, value in SAFE_PROD.items()}
    env.update({"DSR_JWT_SECRET": "x" * 31, "DSR_TASK_MAX_ATTEMPTS": "0",
                "DSR_SANDBOX": "true", "DSR_CRM_URL": "http://crm.internal",
                "DSR_DATA_KEY": base64.urlsafe_b64encode(b"connect2ip-production-data-key!!")
                .decode(), "DSR_SNPAC_WEBHOOK_SECRET": SAFE_PROD["eniro_webhook_secret"]})
    run = _dsr(tmp_path, "migrate", **env)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert "6 invalid or unsafe settings" in lines[0], run.stderr
    listed = sorted(line.split()[1].rstrip(":") for line in lines[1:])
    assert listed == ["DSR_CRM_URL", "DSR_DATA_KEY", "DSR_JWT_SECRET", "DSR_SANDBOX",
                      "DSR_SNPAC_WEBHOOK_SECRET", "DSR_TASK_MAX_ATTEMPTS"], run.stderr
    assert "development secret" not in run.stderr  # what stood in for the invalid value
    assert "x" * 31 not in run.stderr
