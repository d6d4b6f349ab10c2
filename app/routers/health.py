"""Liveness and readiness, for load balancers and orchestrators (no authentication)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import ReadSessionDep
from app.errors import DATABASE_RETRY_AFTER_S
from app.metrics import CONTENT_TYPE
from app.schemas import examples, problem_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    model_config = examples({"status": "ok"})

    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = examples({"status": "ok", "database": "ok"},
                            {"status": "unavailable", "database": "unreachable"})

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


_READY = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}


TOO_LARGE = problem_responses(database=False)  # 431: the header limit holds here too


@router.get("/healthz", response_model=Health, summary="The process is alive",
            operation_id="getHealth", responses=TOO_LARGE)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz", summary="The database is reachable", operation_id="getReadiness",
    response_model=Readiness,
    responses={503: {"description": "The database is not reachable", "content": _READY,
                     "headers": {"Retry-After": {"description": "seconds to wait",
                                                 "schema": {"type": "integer"}}}},
               **TOO_LARGE},
)
async def readyz(request: Request) -> JSONResponse:
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason is for the logs, not callers
        request.app.state.log.warning("readiness check failed: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics", summary="Prometheus metrics (counts and timings only)",
    operation_id="getMetrics",
    response_class=Response, responses={200: {"description": "Prometheus text format",
                     "content": {CONTENT_TYPE: {"schema": {"type": "string"}}}},
               **problem_responses()},
)
async def metrics(request: Request, session: ReadSessionDep) -> Response:
    body = await request.app.state.metrics.render(session)
    return Response(body, media_type=CONTENT_TYPE)
