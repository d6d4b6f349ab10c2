"""Liveness and readiness, for load balancers and orchestrators (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.deps import SessionDep
from app.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="The database is reachable",
    responses={503: {"description": "The database is not reachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason is for the logs, not callers
        request.app.state.log.warning("readiness check failed: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics", summary="Prometheus metrics (counts and timings only)",
    response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def metrics(request: Request, session: SessionDep) -> Response:
    body = await request.app.state.metrics.render(session)
    return Response(body, media_type=CONTENT_TYPE)
