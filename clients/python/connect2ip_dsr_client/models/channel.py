from enum import StrEnum

class Channel(StrEnum):
    EMAIL = "email"
    IN_PERSON = "in_person"
    LETTER = "letter"
    PHONE = "phone"
    PORTAL = "portal"
    RETENTION = "retention"

    def __str__(self) -> str:
        return str(self.value)
