from enum import StrEnum

class CompleteTaskBodyDecisionType0(StrEnum):
    OVERRIDDEN = "overridden"
    UPHELD = "upheld"

    def __str__(self) -> str:
        return str(self.value)
