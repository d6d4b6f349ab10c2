"""The ``dsr`` command: serve, worker, migrate, token, sandbox, openapi, audit."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from app.settings import DEFAULT_PORT, Settings, UnsafeSettings, load_settings

# ``dsr retention run --as-of``: dates the service's work can be judged at (the policy counts
# months back from it; a year-1 date has no months before it).
EARLIEST_AS_OF = date(2000, 1, 1)


def _settings(**overrides: object) -> Settings:
    """The settings, or one message that lists every problem with them."""
    try:
        return load_settings(**overrides)
    except UnsafeSettings as exc:
        raise click.ClickException(f"refusing to start: {exc}") from None
    except ValidationError as exc:
        problems = [
            f"{'DSR_' + str(err['loc'][0]).upper() if err['loc'] else 'settings'}: "
            f"{str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()]
        raise click.ClickException(
            f"refusing to start: {len(problems)} invalid setting"
            f"{'s' if len(problems) > 1 else ''}:\n" + "\n".join(f"  - {p}" for p in problems)
        ) from None


def _bindable(settings: Settings, host: str) -> None:
    try:
        settings.check_bind(host)
    except UnsafeSettings as exc:
        raise click.ClickException(f"refusing to start: {exc}") from None


@click.group()
def main() -> None:
    """Connect2IP data subject request service."""


@main.command()
@click.option("--host", default=None, help="interface to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT})")
def serve(host: str | None, port: int | None) -> None:
    """Run the whole service: migrations, API, in-process worker and (in development) sandbox."""
    import uvicorn

    from app.logging import configure_logging
    from app.main import create_app
    from app.migrate import upgrade
    from app.runtime import tune_gc

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(**overrides)
    _bindable(settings, settings.host)
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    app = create_app(settings)
    tune_gc()
    uvicorn.run(
        app, host=settings.host, port=settings.port, access_log=False,
        log_config=None, proxy_headers=False, server_header=False,
    )


@main.command()
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="serve this process's Prometheus metrics on http://127.0.0.1:PORT/metrics")
def worker(metrics_port: int | None) -> None:
    """Run a worker process only (scale out on PostgreSQL: N API processes + M workers)."""
    import asyncio
    import signal

    from app.logging import configure_logging
    from app.runtime import run_worker_process, tune_gc

    settings = _settings()
    if metrics_port is not None:
        _port_free(metrics_port)
    configure_logging(settings.log_level)
    tune_gc()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker_process(settings, stop, metrics_port=metrics_port)

    asyncio.run(_main())


def _port_free(port: int) -> None:
    """Refuse, in one line, a metrics port that cannot be bound (before the worker starts:
    the metrics server failing later ended in a traceback)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the metrics server binds: a port left in TIME_WAIT is free, one listened on is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise click.ClickException(
                f"cannot serve metrics on 127.0.0.1:{port}: {reason.lower()}") from None


@main.command()
@click.option("--host", default=None, help="interface to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default 8001)")
def sandbox(host: str | None, port: int | None) -> None:
    """Run the partner sandbox alone, under /sandbox/{system}."""
    import uvicorn

    from app.logging import configure_logging
    from app.sandbox import create_standalone_app

    settings = _settings(**{k: v for k, v in {"host": host}.items() if v is not None})
    if settings.is_production:
        raise click.ClickException("refusing to start: the sandbox is for development only")
    _bindable(settings, settings.host)
    configure_logging(settings.log_level)
    uvicorn.run(
        create_standalone_app(settings), host=settings.host, port=port or 8001,
        access_log=False, log_config=None,
    )


@main.group()
def retention() -> None:
    """Scheduled work: deferred erasures and the policy's post-contract lock and erasure."""


@retention.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="act as of this date (default today); outside production a later date "
              "simulates the future, and sandbox partners are told it")
@click.option("--dry-run", is_flag=True, help="print what is due without doing it")
def retention_run(as_of: datetime | None, dry_run: bool) -> None:
    """Run everything due at that date once, and print what was (or would be) done."""
    import asyncio

    from app.connectors.base import LATEST_UNTIL
    from app.db import utcnow
    from app.logging import configure_logging
    from app.retention.run import run_retention

    settings = _settings()
    configure_logging("WARNING")
    day = as_of.date() if as_of else utcnow().date()
    if not EARLIEST_AS_OF <= day <= LATEST_UNTIL:  # 0001-01-01 ended in a traceback
        raise click.BadParameter(
            f"must be a date from {EARLIEST_AS_OF.isoformat()} to {LATEST_UNTIL.isoformat()}",
            param_hint="--as-of")
    if day != utcnow().date() and settings.is_production and not dry_run:
        # A run in production acts as of today: a later date would erase data before its
        # retention period ends, and any other date is a simulation, which real partners
        # must never be told of (Sandbox-As-Of is a development header).
        raise click.ClickException(
            "refusing to run work as of another day than today in production (a later date "
            "would erase data before its retention period ends; simulated dates are for "
            "development); use --dry-run to see what is or will be due")
    for line in asyncio.run(run_retention(settings, as_of=day, dry_run=dry_run)):
        click.echo(line)


@main.group()
def audit() -> None:
    """The audit trail: check every request's, export one for an auditor."""


@audit.command("verify")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="check this exported trail offline instead (needs only "
              "--public-key; no settings, no database)")
@click.option("--public-key", "public_key", default=None,
              help="with --file: the published verification key (base64, PEM, or a file)")
def audit_verify(file: Path | None, public_key: str | None) -> None:
    """Check every trail against the audit key and the ledger (exit 1 naming each request
    whose trail was changed, truncated or deleted), or one exported file."""
    import asyncio

    if file is not None:
        from app.audit import keys, trail

        if not public_key:
            raise click.UsageError("--file needs --public-key")
        try:
            checked = trail.verify_file(file.read_bytes(), keys.load_public_key(public_key))
        except ValueError as exc:
            raise click.ClickException(f"--public-key: not an Ed25519 public key ({exc})") \
                from None
        except trail.FileRefused as exc:
            raise click.ClickException(f"{file}: FAILED: {exc}") from None
        click.echo(f"{file}: OK: request {checked.request_id}, {checked.events} events, "
                   f"exported {checked.exported_at}, signature valid")
        return
    if public_key:
        raise click.UsageError("--public-key goes with --file")
    from app.audit import keys, trail
    from app.db import create_engine, create_sessionmaker, utcnow
    from app.services.vault import Vault

    settings = _settings()

    async def _run() -> trail.Verdict:
        engine = create_engine(settings.database_url)
        try:
            return await trail.verify_all(
                create_sessionmaker(engine), keys.for_settings(settings), now=utcnow(),
                retention_days=settings.case_retention_days,
                grace_days=settings.response_retention_days + 1, vault=Vault(settings))
        finally:
            await engine.dispose()

    verdict = asyncio.run(_run())
    for line in verdict.failures:
        click.echo(f"FAILED {line}")
    summary = (f"{verdict.requests} requests, {verdict.events} events, "
               f"{verdict.ledger_entries} ledger entries"
               + (f", {verdict.purged} purged after the retention period" if verdict.purged
                  else ""))
    if not verdict.ok:
        raise click.ClickException(f"{len(verdict.failures)} problems; {summary}")
    click.echo(f"all audit trails hold: {summary}")


@audit.command("export")
@click.argument("request_id", type=click.UUID)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write here instead of stdout")
def audit_export(request_id: object, output: Path | None) -> None:
    """Write the request's trail, signed, for `dsr audit verify --file F --public-key K`."""
    import asyncio
    import uuid

    from app.audit import keys, trail
    from app.db import create_engine, create_sessionmaker, utcnow

    settings = _settings()
    assert isinstance(request_id, uuid.UUID)

    async def _run() -> bytes:
        engine = create_engine(settings.database_url)
        try:
            return await trail.export(create_sessionmaker(engine), keys.for_settings(settings),
                                      request_id, now=utcnow())
        finally:
            await engine.dispose()

    try:
        data = asyncio.run(_run())
    except trail.ExportRefused as exc:
        raise click.ClickException(str(exc)) from None
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@audit.command("public-key")
@click.option("--pem", is_flag=True, help="as PEM (SubjectPublicKeyInfo) instead of base64")
def audit_public_key(pem: bool) -> None:
    """Print the verification key of exported trails (publish it to auditors)."""
    from app.audit import keys

    public = keys.for_settings(_settings()).public
    click.echo(keys.public_key_pem(public).strip() if pem else keys.public_key_text(public))


@main.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to DSR_DATABASE_URL."""
    from app.logging import configure_logging
    from app.migrate import upgrade

    settings = _settings()
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    click.echo("database is at the latest schema", err=True)


@main.command()
@click.option("--role", type=click.Choice(["agent", "portal", "admin"]), required=True)
@click.option("--customer", "customer", default=None, help="customer number (portal tokens)")
@click.option("--sub", default=None, help="subject (default: the role's local user)")
@click.option("--ttl", type=int, default=None, help="lifetime in seconds")
def token(role: str, customer: str | None, sub: str | None, ttl: int | None) -> None:
    """Print a signed JWT for local use (on stdout and nothing else)."""
    from app.auth import Role, mint_token

    settings = _settings()
    try:
        minted = mint_token(
            settings, role=Role(role), sub=sub or f"local-{role}", customer_number=customer,
            ttl_seconds=ttl,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(minted)


@main.command()
@click.option("--webhook", is_flag=True,
              help="a Standard Webhooks secret (whsec_…) for DSR_<SYSTEM>_WEBHOOK_SECRET or "
              "DSR_PORTAL_WEBHOOK_SECRET instead")
def keygen(webhook: bool) -> None:
    """Print a new key for DSR_DATA_KEY (Fernet: url-safe base64 of 32 random bytes)."""
    import base64
    import secrets

    from cryptography.fernet import Fernet

    if webhook:
        click.echo("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
    else:
        click.echo(Fernet.generate_key().decode())


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write here instead of stdout")
def openapi(output: Path | None) -> None:
    """Print (or write) the OpenAPI document generated from the code."""
    from app.openapi import render

    text = render()
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":  # pragma: no cover
    main()
