"""The application factory: ``create_app(settings)`` wires routes, errors and resources.

Resources (engine, sessionmaker, the shared HTTP client, the in-process worker) are built in the
lifespan, never at import time, so tests and several processes each get their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.auth import TokenVerifier
from app.db import create_engine, create_sessionmaker
from app.errors import install_error_handlers
from app.middleware import RequestContextMiddleware
from app.routers import health, requests
from app.settings import Settings, load_settings

DESCRIPTION = """\
Takes GDPR data subject requests (access, erasure, rectification, restriction, objection,
portability) for Connect2IP customers, carries each out in the own customer register and at
every subprocessor using pseudonymous IDs only, tracks every step, and answers the customer in
an electronic format. Errors are `application/problem+json` (RFC 9457).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.check_production()
    log = logging.getLogger("app")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Connect2IP data subject request service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.log = log
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(requests.router)
    return app
