"""A scriptable connector for dispatcher and webhook tests (partners themselves are faked with
respx in tests/connectors and played by the sandbox in the end-to-end tests)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any, ClassVar

from app.connectors import base
from app.connectors.base import Call, Outcome
from app.models import TaskStatus

Behaviour = Callable[[Call], Outcome]


class FakeConnector:
    system: ClassVar[str] = "fake"

    def __init__(self, name: str, behaviour: Behaviour | None = None, *, delay: float = 0.0):
        self.name = name
        self.behaviour = behaviour or (lambda call: base.done("ok", {"things": [1, 2]}))
        self.poll_behaviour: Callable[[Call], Outcome | None] = lambda call: None
        self.delay = delay
        self.calls: list[Call] = []
        self.in_flight: dict[uuid.UUID, int] = defaultdict(int)
        self.max_in_flight_per_task = 0

    async def execute(self, call: Call) -> Outcome:
        self.calls.append(call)
        self.in_flight[call.task_id] += 1
        self.max_in_flight_per_task = max(self.max_in_flight_per_task,
                                          self.in_flight[call.task_id])
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.behaviour(call)
        finally:
            self.in_flight[call.task_id] -= 1

    async def poll(self, call: Call) -> Outcome | None:
        return self.poll_behaviour(call)

    def parse_callback(self, payload: dict[str, Any]) -> tuple[uuid.UUID, int, Outcome]:
        return uuid.UUID(payload["task"]), int(payload.get("round", 0)), Outcome(
            TaskStatus(payload["status"]), payload.get("summary", ""))


def fakes(**behaviours: Behaviour) -> dict[str, Any]:
    names = ("crm", "stadsnat", "fortnox", "snpac", "eniro", "installer")
    return {name: FakeConnector(name, behaviours.get(name)) for name in names}
