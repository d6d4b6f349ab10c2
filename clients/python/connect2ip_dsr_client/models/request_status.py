from enum import StrEnum

class RequestStatus(StrEnum):
    ACTION_REQUIRED = "action_required"
    AWAITING_VERIFICATION = "awaiting_verification"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return str(self.value)
