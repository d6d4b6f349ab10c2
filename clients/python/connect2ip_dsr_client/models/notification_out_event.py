from enum import StrEnum

class NotificationOutEvent(StrEnum):
    REQUEST_ACTION_REQUIRED = "request.action_required"
    REQUEST_CANCELLED = "request.cancelled"
    REQUEST_COMPLETED = "request.completed"
    REQUEST_EXTENDED = "request.extended"
    REQUEST_RECEIVED = "request.received"
    REQUEST_REJECTED = "request.rejected"
    REQUEST_VERIFIED = "request.verified"
    RESTRICTION_LIFT_NOTICE = "restriction.lift_notice"

    def __str__(self) -> str:
        return str(self.value)
