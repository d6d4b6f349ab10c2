from enum import StrEnum

class ReceivePartnerCallbackSystem(StrEnum):
    ENIRO = "eniro"
    SNPAC = "snpac"
    STADSNAT = "stadsnat"

    def __str__(self) -> str:
        return str(self.value)
