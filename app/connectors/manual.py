"""Installation companies: no API, so every action is a manual task for an agent.

The summary is the agent's instruction. It names what to ask for and what to record, never
the customer's data: the agent finds the order ID (the task's link) and the contact details
in the task and the customer register.
"""

from __future__ import annotations

from typing import ClassVar

from app.connectors.base import Call, Egress, Outcome, manual
from app.connectors.config import PartnerSettings
from app.errors import PermanentError

_DONE = " When the company has confirmed, complete this task with the outcome."
INSTRUCTIONS = {
    "export": "Ask the installation company for a copy of all data it holds about the order "
    "(address, contact details, installation notes) and attach it to this task.",
    "erase": "Ask the installation company to erase the data it holds about the order, "
    "or to state what it must keep, on what legal basis and until when.",
    "rectify": "Send the installation company the corrected values for the order "
    "(only the fields it holds: address, postal code, city, phone) and ask it to update them.",
    "restrict": "Ask the installation company to mark the order's data as restricted: kept, "
    "but not used, until Connect2IP lifts the restriction.",
    "lift_restriction": "Tell the installation company that the restriction on the order's "
    "data is lifted (the customer has been told first).",
}


class InstallerConnector:
    """Every action returns ``manual(...)``: nothing is sent anywhere."""

    system: ClassVar[str] = "installer"
    actions: ClassVar[tuple[str, ...]] = tuple(INSTRUCTIONS)

    def __init__(self, egress: Egress | None = None, config: PartnerSettings | None = None) -> None:
        # No egress: there is no API to reach. The signature matches the other connectors.
        self.egress = egress

    async def execute(self, call: Call) -> Outcome:
        instruction = INSTRUCTIONS.get(call.action)
        if instruction is None:
            raise PermanentError(f"installer has no action {call.action!r}")
        return manual(instruction + _DONE)

    async def poll(self, call: Call) -> Outcome | None:
        """An agent completes the task; there is nothing to ask."""
        return None
