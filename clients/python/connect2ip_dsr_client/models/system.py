from enum import StrEnum

class System(StrEnum):
    CRM = "crm"
    ENIRO = "eniro"
    FORTNOX = "fortnox"
    INSTALLER = "installer"
    SNPAC = "snpac"
    STADSNAT = "stadsnat"

    def __str__(self) -> str:
        return str(self.value)
