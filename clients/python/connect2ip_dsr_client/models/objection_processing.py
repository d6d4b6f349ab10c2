from enum import StrEnum

class ObjectionProcessing(StrEnum):
    DIRECT_MARKETING = "direct_marketing"
    LEGITIMATE_INTEREST = "legitimate_interest"

    def __str__(self) -> str:
        return str(self.value)
