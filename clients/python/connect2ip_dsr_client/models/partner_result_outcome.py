from enum import StrEnum

class PartnerResultOutcome(StrEnum):
    DONE = "done"
    NO_DATA = "no_data"
    REFUSED = "refused"
    RETAINED = "retained"

    def __str__(self) -> str:
        return str(self.value)
