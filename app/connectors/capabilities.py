"""What a connector can do, one protocol per capability.

A partner's connector implements the capabilities its partner has, and the code that needs
one asks for it with ``isinstance`` (the protocols are runtime-checkable): a partner that
answers by webhook is :class:`CallsBack`; the own register, which holds the call history and
the contracts, is :class:`CallHistory` and :class:`ContractSource`. No connector carries stub
methods for what its partner does not do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, ClassVar, Protocol, runtime_checkable

from app.connectors.call import Call, Outcome


@runtime_checkable
class Executes(Protocol):
    """Carries a task out (or hands it to the partner)."""

    system: ClassVar[str]

    async def execute(self, call: Call) -> Outcome:
        """Carry the task out; raise Transient/PermanentError."""
        ...


@runtime_checkable
class Polled(Protocol):
    """Can be asked how a handed-over task went."""

    async def poll(self, call: Call) -> Outcome | None:
        """The task's outcome at the partner; None while it is still running."""
        ...


@runtime_checkable
class Connector(Executes, Polled, Protocol):
    """What the dispatcher drives: every connector executes and can be polled (one that
    answers at once has nothing to poll and says so with None)."""


@runtime_checkable
class CallsBack(Protocol):
    """Answers by a signed webhook to ``/v1/webhooks/{system}``."""

    def parse_callback(self, payload: dict[str, Any]) -> tuple[uuid.UUID, int, Outcome]:
        """The task id, dispatch round and outcome in a partner's (verified) callback body.

        Raises ``PermanentError`` for a body that does not say which task or how it went.
        """
        ...


@runtime_checkable
class CallHistory(Protocol):
    """Holds the customer's call history, read page by page into the response package."""

    def iter_call_history(self, link: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The customer's call-history rows, a page at a time."""
        ...


@runtime_checkable
class ContractSource(Protocol):
    """Knows which customers' contracts ended, and when (the retention sweep asks)."""

    async def ended_contracts(self, before: date) -> list[tuple[str, date]]:
        """(customer number, end date) of contracts that ended before ``before``."""
        ...
