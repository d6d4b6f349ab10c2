"""The application factory: ``create_app(settings)`` wires routes, errors and resources.

Resources (engine, sessionmaker, the shared HTTP client, connectors, the in-process worker) are
built in the lifespan, never at import time, so tests and several processes each get their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app import __version__, protocol
from app.auth import TokenVerifier
from app.db import unit_of_work
from app.errors import install_error_handlers
from app.metrics import Metrics
from app.middleware import RequestContextMiddleware
from app.partners import PARTNERS
from app.routers import health, links, requests, responses, webhooks
from app.runtime import build_runtime
from app.schemas import PROBLEM_TYPES_TABLE
from app.services.foreground import Foreground
from app.services.vault import Vault
from app.settings import Settings, load_settings

DESCRIPTION = """\
Takes GDPR data subject requests (access, erasure, rectification, restriction, objection,
portability) for Connect2IP customers, carries each out in the own customer register and at
every subprocessor using pseudonymous IDs only, tracks every step, and answers the customer in
an electronic format.

**Authentication**: `Authorization: Bearer <JWT>` with `sub`, `role` (`portal` | `agent` |
`admin`), `customer_number` (portal), `aud`, `iss`, `exp`. A portal token sees its own
customer's requests only (anyone else's is a 404).

**Partners** find their side of the protocol under `webhooks` (`partnerRequest`, what the
service sends them) and in `receivePartnerCallback` (what they send back, signed per Standard
Webhooks); the portal backend's notifications are `portalNotification`.

**Errors** are `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, and
for validation `errors`. No error echoes the input. Request headers may be at most
`DSR_MAX_HEADER_BYTES` (16 KiB) in all (431), bodies `DSR_MAX_BODY_BYTES` (64 KiB, 413).
The problem types:

| status | type | meaning |
|---|---|---|
"""
TAGS = [
    {"name": "requests", "description": "Data subject requests: submit, follow, and the "
     "agents' actions on them (verify, reject, extend, cancel, tasks, lift)."},
    {"name": "responses", "description": "The customer's answer: a zip with a manifest, a "
     "readable report and the data, downloadable while it is kept."},
    {"name": "links", "description": "Each system's pseudonymous key for a customer "
     "(staff only)."},
    {"name": "partner webhooks", "description": "Signed callbacks from the partners that "
     "answer later (Standard Webhooks)."},
    {"name": "partner protocol", "description": "What the service sends: requests to "
     "partners and notifications to the portal backend (see `webhooks`)."},
    {"name": "operations", "description": "Liveness, readiness and metrics (no "
     "authentication)."},
]
SERVERS = [
    {"url": "https://dsr.connect2ip.se", "description": "production"},
    {"url": "http://127.0.0.1:8000", "description": "`dsr serve` on a developer's machine"},
]
# Components only the partner protocol uses; :func:`_openapi` adds them to the document.
PROTOCOL_MODELS = (protocol.PartnerCallback,)

log = logging.getLogger("app")


async def _register_demo_links(app: FastAPI, synthetic: int) -> None:
    """In development with the sandbox on, the demo customers' links exist from the start,
    and those of the ``DSR_SANDBOX_CUSTOMERS`` synthetic customers (in bulk, once)."""
    from app.routers.links import upsert_link
    from app.sandbox.links import register_links
    from app.sandbox.seed import DEMO_LINKS
    from app.sandbox.synthetic import synthetic_links

    async with unit_of_work(app.state.sessionmaker) as session:
        for customer, systems in DEMO_LINKS.items():
            for system, external_id in systems.items():
                if PARTNERS[system].needs_link:  # the register is keyed by the number
                    await upsert_link(session, customer_number=customer, system=system,
                                      external_id=external_id)
        if synthetic:
            await register_links(session, synthetic_links(synthetic))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the protocol schemas no route declares itself."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(
            title=app.title, version=app.version, description=app.description,
            routes=app.routes, webhooks=app.webhooks.routes, tags=app.openapi_tags,
            servers=app.servers)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for path_item in document.get("webhooks", {}).values():
            for operation in path_item.values():  # a receiver's 422 is any other 4xx to us
                operation["responses"].pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):  # every 422 is a Problem
            components.pop(name, None)
        for model in PROTOCOL_MODELS:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
        document["components"]["schemas"] = dict(sorted(components.items()))
        app.openapi_schema = document
    return app.openapi_schema


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
            settings, metrics=app.state.metrics, vault=app.state.vault,
            foreground=app.state.foreground,
        ) as runtime:
            app.state.runtime = runtime
            app.state.engine = runtime.engine
            app.state.sessionmaker = runtime.sessionmaker
            app.state.wake = runtime.wake
            app.state.http = runtime.http
            app.state.connectors = runtime.connectors
            app.state.dispatcher = runtime.dispatcher
            app.state.recorder = runtime.recorder
            try:
                if sandbox_app is not None:
                    await _register_demo_links(app, settings.sandbox_customers)
                if settings.run_worker:
                    runtime.start_worker()
                yield
            finally:
                await runtime.dispatcher.stop()
                await runtime.recorder.close()
                if sandbox_app is not None:
                    await sandbox_app.state.sandbox.close()

    app = FastAPI(
        title="Connect2IP data subject request service",
        version=__version__,
        description=DESCRIPTION + PROBLEM_TYPES_TABLE + "\n",
        openapi_tags=TAGS,
        servers=SERVERS,
        lifespan=lifespan,
    )
    protocol.document(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.vault = Vault(settings)
    app.state.metrics = Metrics()
    app.state.log = log
    app.state.foreground = Foreground()  # the API calls in flight (services.foreground)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_header_bytes=settings.max_header_bytes,
                       foreground=app.state.foreground)
    app.include_router(health.router)
    app.include_router(requests.router)
    app.include_router(responses.router)
    app.include_router(links.router)
    app.include_router(webhooks.router)
    if sandbox_app is not None:
        app.mount("/sandbox", sandbox_app)
    return app
