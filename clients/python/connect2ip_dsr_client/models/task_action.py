from enum import StrEnum

class TaskAction(StrEnum):
    ASSESS_OBJECTION = "assess_objection"
    ERASE = "erase"
    ERASE_RETAINED = "erase_retained"
    EXPORT = "export"
    EXPORT_PROVIDED = "export_provided"
    LIFT_NOTICE = "lift_notice"
    LIFT_RESTRICTION = "lift_restriction"
    PORT_NUMBER = "port_number"
    RECTIFY = "rectify"
    RESTRICT = "restrict"
    STOP_MARKETING = "stop_marketing"
    UNLIST = "unlist"

    def __str__(self) -> str:
        return str(self.value)
