from enum import StrEnum

class WebhookAckStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"

    def __str__(self) -> str:
        return str(self.value)
