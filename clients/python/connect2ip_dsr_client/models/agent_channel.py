from enum import StrEnum

class AgentChannel(StrEnum):
    EMAIL = "email"
    IN_PERSON = "in_person"
    LETTER = "letter"
    PHONE = "phone"

    def __str__(self) -> str:
        return str(self.value)
