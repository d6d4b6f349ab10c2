"""A request's portal notifications as answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import examples

NotificationEvent = Literal[
    "request.received", "request.verified", "request.extended", "request.completed",
    "request.rejected", "request.cancelled", "request.action_required",
    "restriction.lift_notice",
]


class NotificationOut(BaseModel):
    """One portal notification and how its delivery went."""

    model_config = examples({
        "id": "0b6f0d0e-8d5c-4d8e-9a51-6c1f8f0c2b7e", "event": "request.completed",
        "status": "delivered", "attempts": 1, "created_at": "2026-11-29T10:00:02Z",
        "next_attempt_at": None, "delivered_at": "2026-11-29T10:00:03Z", "last_error": None,
        "payload": {"request_id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e",
                    "status": "completed"}})

    id: uuid.UUID
    event: NotificationEvent
    status: Literal["pending", "delivered", "failed"] = Field(
        description="failed: never acknowledged within the delivery window; an agent must act")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    payload: dict[str, Any] = Field(description="what was sent: ids, statuses, dates only")


class NotificationsOut(BaseModel):
    request_id: uuid.UUID
    items: list[NotificationOut]
