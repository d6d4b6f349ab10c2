"""The municipal fibre network (stadsnät), keyed by service ID.

It holds the connection address, the service/port and the activation history. While the
connection is active its address is needed to deliver it, so erasure keeps the address (and
says so) and erases only the history; a terminated connection is erased in full.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.sandbox.models import Address, PartnerJob
from app.sandbox.opendsr import CONTRACT_BASIS, Partner, result


class Stadsnat(Partner):
    system: ClassVar[str] = "stadsnat"
    holds_fields: ClassVar[tuple[str, ...]] = ("address", "postal_code", "city")

    def holds(self, link: str) -> bool:
        return link in self.state.stadsnat

    def access(self, job: PartnerJob) -> dict[str, Any]:
        conn = self.state.stadsnat[job.link]
        return result("done", "Connection record exported.", data={"connection": {
            "service_id": conn.service_id,
            "address": conn.address.as_dict() if conn.address else None,
            "port": conn.port, "product": conn.product, "status": conn.status,
            "activation_history": list(conn.activation_history), "restricted": conn.restricted,
        }})

    def erasure(self, job: PartnerJob) -> dict[str, Any]:
        conn = self.state.stadsnat[job.link]
        if conn.status != "active":
            del self.state.stadsnat[job.link]
            return result("done", "Terminated connection's record erased in full.")
        conn.activation_history = []
        return result(
            "retained", "Activation history erased; the address and port of the active "
                        "connection are kept while it is delivered.",
            retained=[{"category": "connection address and service/port",
                       "basis": CONTRACT_BASIS, "until": None,
                       "code": "connection_address", "basis_code": "contract_in_force"}],
        )

    def record(self, link: str) -> Any:
        return self.state.stadsnat[link]

    def restriction(self, job: PartnerJob) -> dict[str, Any]:
        self.state.stadsnat[job.link].restricted = True
        return result("done", "Service record marked restricted.")

    def update(self, link: str, changes: dict[str, str]) -> None:
        conn = self.state.stadsnat[link]
        address = conn.address or Address("", "", "")
        address.street = changes.get("address", address.street)
        address.postal_code = changes.get("postal_code", address.postal_code)
        address.city = changes.get("city", address.city)
        conn.address = address
