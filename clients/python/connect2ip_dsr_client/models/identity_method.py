from enum import StrEnum

class IdentityMethod(StrEnum):
    BANKID = "bankid"
    FREJA_EID = "freja_eid"
    ID_DOCUMENT = "id_document"
    IN_PERSON = "in_person"

    def __str__(self) -> str:
        return str(self.value)
