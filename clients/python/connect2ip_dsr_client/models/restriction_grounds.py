from enum import StrEnum

class RestrictionGrounds(StrEnum):
    ACCURACY_CONTESTED = "accuracy_contested"
    NO_LONGER_NEEDED = "no_longer_needed"
    OBJECTION_PENDING = "objection_pending"
    UNLAWFUL_PROCESSING = "unlawful_processing"

    def __str__(self) -> str:
        return str(self.value)
