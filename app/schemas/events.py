"""A request's event chain as answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models import EventAction, RequestStatus
from app.schemas.common import examples


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: EventAction
    from_status: RequestStatus | None
    to_status: RequestStatus | None
    data: dict[str, Any]
    hash: str
    prev_hash: str


class EventsOut(BaseModel):
    model_config = examples({
        "request_id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e", "chain_intact": True,
        "events": [{"seq": 1, "at": "2026-11-29T10:00:00Z", "actor": "agent-anna",
                    "actor_role": "agent", "action": "created", "from_status": None,
                    "to_status": "awaiting_verification",
                    "data": {"type": "erasure", "channel": "phone"},
                    "hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    "prev_hash": "0" * 64}]})

    request_id: uuid.UUID
    chain_intact: bool = Field(description="whether every event's hash checks out")
    events: list[EventOut]
