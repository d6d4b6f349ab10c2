"""The application factory: ``create_app(settings)`` wires routes, errors and resources.

Resources (engine, sessionmaker, the shared HTTP client, connectors, the in-process worker) are
built in the lifespan, never at import time, so tests and several processes each get their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.auth import TokenVerifier
from app.db import unit_of_work
from app.errors import install_error_handlers
from app.metrics import Metrics
from app.middleware import RequestContextMiddleware
from app.routers import health, links, requests, responses, webhooks
from app.runtime import build_runtime
from app.services.vault import Vault
from app.settings import Settings, load_settings

DESCRIPTION = """\
Takes GDPR data subject requests (access, erasure, rectification, restriction, objection,
portability) for Connect2IP customers, carries each out in the own customer register and at
every subprocessor using pseudonymous IDs only, tracks every step, and answers the customer in
an electronic format. Errors are `application/problem+json` (RFC 9457).
"""

log = logging.getLogger("app")


async def _register_demo_links(app: FastAPI) -> None:
    """In development with the sandbox on, the demo customers' links exist from the start."""
    from app.routers.links import upsert_link
    from app.sandbox.seed import DEMO_LINKS

    async with unit_of_work(app.state.sessionmaker) as session:
        for customer, systems in DEMO_LINKS.items():
            for system, external_id in systems.items():
                if system != "crm":
                    await upsert_link(session, customer_number=customer, system=system,
                                      external_id=external_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.check_production()
    sandbox_app = None
    if settings.sandbox_enabled:
        from app.sandbox import create_sandbox_app

        sandbox_app = create_sandbox_app(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with build_runtime(
            settings, metrics=app.state.metrics, vault=app.state.vault
        ) as runtime:
            app.state.runtime = runtime
            app.state.engine = runtime.engine
            app.state.sessionmaker = runtime.sessionmaker
            app.state.wake = runtime.wake
            app.state.http = runtime.http
            app.state.connectors = runtime.connectors
            app.state.dispatcher = runtime.dispatcher
            try:
                if sandbox_app is not None:
                    await _register_demo_links(app)
                if settings.run_worker:
                    runtime.start_worker()
                yield
            finally:
                await runtime.dispatcher.stop()
                if sandbox_app is not None:
                    await sandbox_app.state.sandbox.close()

    app = FastAPI(
        title="Connect2IP data subject request service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.vault = Vault(settings)
    app.state.metrics = Metrics()
    app.state.log = log
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(requests.router)
    app.include_router(responses.router)
    app.include_router(links.router)
    app.include_router(webhooks.router)
    if sandbox_app is not None:
        app.mount("/sandbox", sandbox_app)
    return app
