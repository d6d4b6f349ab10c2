from enum import StrEnum

class TaskStatus(StrEnum):
    AWAITING_CALLBACK = "awaiting_callback"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"
    MANUAL = "manual"
    NO_DATA = "no_data"
    PENDING = "pending"
    RETAINED = "retained"
    RUNNING = "running"
    SCHEDULED = "scheduled"

    def __str__(self) -> str:
        return str(self.value)
