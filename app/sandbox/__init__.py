"""The partner sandbox: every partner system played faithfully, so the service runs on a laptop.

``create_sandbox_app(settings)`` returns an ASGI app with one router per system (``/crm``,
``/fortnox``, ``/stadsnat``, ``/snpac``, ``/eniro``), following docs/partners.md. The service
mounts it under ``/sandbox``; ``dsr sandbox`` can serve :func:`create_standalone_app`, which
mounts it the same way so partner URLs are identical. Its records live in a
:class:`SandboxState` (``app.state.sandbox``), seeded with the demo customers whose links are
:data:`DEMO_LINKS`.

A mounted sub-app's lifespan does not run, so the host must ``await state.close()`` on
shutdown; the callback client is created on first use for the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox import crm, fortnox
from app.sandbox.eniro import Eniro
from app.sandbox.faults import Faults, parse_faults
from app.sandbox.http import Answer
from app.sandbox.opendsr import build_router as opendsr_router
from app.sandbox.seed import DEMO_LINKS
from app.sandbox.snpac import Snpac
from app.sandbox.stadsnat import Stadsnat
from app.sandbox.state import SandboxState
from app.settings import Settings

PARTNERS = ("crm", "fortnox", "stadsnat", "snpac", "eniro")

__all__ = [
    "DEMO_LINKS",
    "Faults",
    "SandboxState",
    "create_sandbox_app",
    "create_standalone_app",
    "parse_faults",
]


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answer)
    return exc.response


def _closing(state: SandboxState) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that closes the sandbox (its callback client, its pending jobs) on shutdown.

    A mounted app's own lifespan does not run, so the service closes the state itself.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.close()

    return lifespan


class _Counting:
    """Counts every call a partner receives and every 429 it answers (``GET {system}/_stats``)."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith("/_stats"):
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if scope["path"].startswith(root) else scope["path"]
        called = path.strip("/").partition("/")[0]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.state.count(called, message["status"])
            await send(message)

        await self.app(scope, receive, counting_send)


def create_sandbox_app(
    settings: Settings, *, client: httpx.AsyncClient | None = None
) -> FastAPI:
    """The sandbox app, freshly seeded; ``client`` sends the callbacks (made lazily if None).

    Raises ``ValueError`` when ``settings.sandbox_faults`` cannot be parsed.
    """
    state = SandboxState(settings, client=client)
    app = FastAPI(
        title="Connect2IP partner sandbox", lifespan=_closing(state),
        description="Plays every partner system (docs/partners.md). Development only.",
    )
    app.state.sandbox = state
    app.add_exception_handler(Answer, _answer)
    app.add_middleware(_Counting, state=state)

    @app.get("/{system}/_stats", include_in_schema=False)
    async def stats(system: str) -> JSONResponse:
        """Calls received and 429s answered since start (for benchmarks)."""
        if system not in PARTNERS:
            return JSONResponse({"detail": "No such partner."}, status_code=404)
        return JSONResponse(state.stats.get(system, {"calls": 0, "throttled": 0}))

    app.include_router(crm.build_router(state), prefix="/crm")
    app.include_router(fortnox.build_router(state), prefix="/fortnox")
    for partner in (Stadsnat(state), Snpac(state), Eniro(state)):
        app.include_router(opendsr_router(state, partner), prefix=f"/{partner.system}")
    return app


def create_standalone_app(settings: Settings) -> FastAPI:
    """The sandbox alone (``dsr sandbox``), under ``/sandbox`` as when mounted in the service."""
    sandbox = create_sandbox_app(settings)
    state: SandboxState = sandbox.state.sandbox
    app = FastAPI(title="Connect2IP partner sandbox", lifespan=_closing(state))
    app.state.sandbox = state
    app.mount("/sandbox", sandbox)
    return app
