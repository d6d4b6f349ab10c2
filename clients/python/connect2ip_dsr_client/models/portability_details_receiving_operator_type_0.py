from enum import StrEnum

class PortabilityDetailsReceivingOperatorType0(StrEnum):
    BAHNHOF = "Bahnhof"
    COMVIQ = "Comviq"
    FELLO = "Fello"
    HALEBOP = "Halebop"
    HALLON = "Hallon"
    OWNIT = "Ownit"
    TELAVOX = "Telavox"
    TELE2 = "Tele2"
    TELENOR = "Telenor"
    TELIA = "Telia"
    TRE = "Tre"
    VIMLA = "Vimla"

    def __str__(self) -> str:
        return str(self.value)
