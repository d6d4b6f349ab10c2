from enum import StrEnum

class RejectReason(StrEnum):
    EXCESSIVE = "excessive"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    OTHER = "other"

    def __str__(self) -> str:
        return str(self.value)
