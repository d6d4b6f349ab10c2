"""Eniro/Hitta directory listings, keyed by listing ID.

A listing is what marketers harvest, so both erasure and objection to direct marketing unlist
it: erasure deletes the listing, objection takes it out of the directory.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.sandbox.models import Address, PartnerJob
from app.sandbox.opendsr import Partner, result


class Eniro(Partner):
    system: ClassVar[str] = "eniro"
    holds_fields: ClassVar[tuple[str, ...]] = ("name", "address", "postal_code", "city", "phone")

    def holds(self, link: str) -> bool:
        return link in self.state.eniro

    def access(self, job: PartnerJob) -> dict[str, Any]:
        listing = self.state.eniro[job.link]
        return result("done", "Directory listing exported.", data={"listing": {
            "listing_id": listing.listing_id, "name": listing.name, "phone": listing.phone,
            "address": listing.address.as_dict() if listing.address else None,
            "listed": listing.listed, "restricted": listing.restricted,
        }})

    def erasure(self, job: PartnerJob) -> dict[str, Any]:
        del self.state.eniro[job.link]
        return result("done", "Listing unlisted and deleted from the directory.")

    def objection(self, job: PartnerJob) -> dict[str, Any]:
        self.state.eniro[job.link].listed = False
        return result("done", "Listing unlisted; it is no longer published.")

    def record(self, link: str) -> Any:
        return self.state.eniro[link]

    def restriction(self, job: PartnerJob) -> dict[str, Any]:
        self.state.eniro[job.link].restricted = True
        return result("done", "Listing marked restricted: kept, not published.")

    def update(self, link: str, changes: dict[str, str]) -> None:
        listing = self.state.eniro[link]
        listing.name = changes.get("name", listing.name)
        listing.phone = changes.get("phone", listing.phone)
        if {"address", "postal_code", "city"} & set(changes):
            address = listing.address or Address("", "", "")
            address.street = changes.get("address", address.street)
            address.postal_code = changes.get("postal_code", address.postal_code)
            address.city = changes.get("city", address.city)
            listing.address = address
