from enum import StrEnum

class RequestOutClosingAsType0(StrEnum):
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return str(self.value)
