"""SNPAC, the number-portability clearing house, keyed by phone number.

It holds porting records (number, current operator, porting history). A portability request
with ``number_porting`` books a port to the receiving operator. An active number's record is
needed to route calls to it, so erasure keeps it (and says under which law) and erases only the
history no longer needed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from app.connectors.operators import KNOWN_OPERATORS
from app.sandbox.models import PartnerJob
from app.sandbox.opendsr import Partner, extension, result

PORTABILITY_BASIS = "Lag (2022:482) om elektronisk kommunikation, nummerportabilitet"


def porting_date(today: date) -> date:
    """The earliest porting day: two working days ahead (weekends skipped)."""
    day, working_days = today, 0
    while working_days < 2:
        day += timedelta(days=1)
        if day.weekday() < 5:
            working_days += 1
    return day


class Snpac(Partner):
    system: ClassVar[str] = "snpac"

    def holds(self, link: str) -> bool:
        return link in self.state.snpac

    def access(self, job: PartnerJob) -> dict[str, Any]:
        rec = self.state.snpac[job.link]
        return result("done", "Porting record exported.", data={"porting_record": {
            "number": rec.number, "current_operator": rec.current_operator,
            "status": rec.status, "porting_history": list(rec.porting_history),
            "booked_port": rec.booked_port, "restricted": rec.restricted,
        }})

    def portability(self, job: PartnerJob) -> dict[str, Any]:
        """Swedish practice: the receiving operator starts a port, and the operator the number
        leaves (Connect2IP) authorises it. An authorisation names a known operator and never
        replaces one already pending."""
        operator = extension(job, "number_porting").get("receiving_operator")
        if not operator:
            return self.access(job)
        rec = self.state.snpac[job.link]
        if operator not in KNOWN_OPERATORS:
            return result("refused", "The receiving operator is not in the registry.",
                          reason="unknown_operator")
        if rec.status != "active":
            return result("refused", "The number is not active here and cannot be ported.",
                          reason="number_not_active")
        if rec.booked_port and rec.booked_port.get("to_operator") != operator:
            return result("refused", "Another port of the number is already authorised; it "
                                     "is not replaced.", reason="port_pending")
        when = porting_date(datetime.now(UTC).date())
        rec.booked_port = {"to_operator": operator, "date": when.isoformat(),
                           "authorised_by": "donor"}
        return result("done", f"Port of the number to {operator} authorised from "
                              f"{when.isoformat()}; {operator} carries it out.",
                      data={"booked_port": dict(rec.booked_port)})

    def erasure(self, job: PartnerJob) -> dict[str, Any]:
        rec = self.state.snpac[job.link]
        if rec.status != "active":
            del self.state.snpac[job.link]
            return result("done", "Record of the number, no longer active here, erased.")
        # Only the porting that brought the number here is still needed for routing.
        rec.porting_history = rec.porting_history[-1:]
        return result(
            "retained", "Older porting history erased; the active number's record is kept "
                        "for routing and number portability.",
            retained=[{"category": "number-portability record (number, current operator, the "
                                   "porting that brought the number here)",
                       "basis": PORTABILITY_BASIS, "until": None,
                       "code": "number_record", "basis_code": "number_portability"}],
        )

    def record(self, link: str) -> Any:
        return self.state.snpac[link]

    def restriction(self, job: PartnerJob) -> dict[str, Any]:
        self.state.snpac[job.link].restricted = True
        return result("done", "Porting record marked restricted.")
