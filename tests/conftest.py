"""Test fixtures: a migrated database per run (SQLite or PostgreSQL), the app, clients, tokens.

``DSR_TEST_DATABASE=postgresql`` runs the suite on PostgreSQL: a fresh database is created on
``DSR_TEST_POSTGRES_URL`` (default: the local server, user postgres) and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

for _name in list(os.environ):  # the developer's own DSR_* settings must not leak into tests
    if _name.startswith("DSR_") and not _name.startswith("DSR_TEST_"):
        del os.environ[_name]

from app.auth import Role, mint_token  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.settings import Settings  # noqa: E402

TEST_SECRET = "test-secret-" + "x" * 40
BACKEND = os.environ.get("DSR_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "DSR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

if BACKEND not in ("sqlite", "postgresql"):
    raise pytest.UsageError("DSR_TEST_DATABASE must be sqlite or postgresql")


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


async def _pg_admin(statement: str) -> None:
    import asyncpg

    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run."""
    if BACKEND == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        return
    name = f"dsr_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url, "jwt_secret": TEST_SECRET, "sandbox": False,
        "run_worker": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


async def clear_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            tables = list(reversed(SQLModel.metadata.sorted_tables))
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {names} CASCADE"))
            else:
                for table in tables:
                    await conn.execute(table.delete())
    finally:
        await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await clear_tables(settings.database_url)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dsr.test") as http:
        yield http


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth(settings: Settings) -> TokenFactory:
    """``auth("agent")`` / ``auth("portal", "C-1001")``: Authorization headers for a role."""

    def headers(role: str, customer: str | None = None, *, sub: str | None = None) -> dict[str, str]:
        token = mint_token(
            settings, role=Role(role), sub=sub or f"test-{role}", customer_number=customer
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def agent(auth: TokenFactory) -> dict[str, str]:
    return auth("agent")


@pytest.fixture
def portal(auth: TokenFactory) -> dict[str, str]:
    return auth("portal", "C-1001")


ROOT = Path(__file__).resolve().parent.parent
