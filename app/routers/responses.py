"""The electronic-format response (``GET /v1/requests/{id}/response``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/requests", tags=["responses"])
