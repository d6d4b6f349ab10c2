from enum import StrEnum

class CompleteTaskBodyOutcome(StrEnum):
    DONE = "done"
    NO_DATA = "no_data"
    RETAINED = "retained"

    def __str__(self) -> str:
        return str(self.value)
