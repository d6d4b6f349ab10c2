from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.complete_task_body_outcome import CompleteTaskBodyOutcome
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.retained_in import RetainedIn





T = TypeVar("T", bound="CompleteTaskBody")



@_attrs_define
class CompleteTaskBody:
    """ 
        Attributes:
            note (str): what was done (no personal data)
            outcome (CompleteTaskBodyOutcome):
            retained (list[RetainedIn] | Unset):
     """

    note: str
    outcome: CompleteTaskBodyOutcome
    retained: list[RetainedIn] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.retained_in import RetainedIn # noqa: PLC0415
        note = self.note

        outcome = self.outcome.value

        retained: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.retained, Unset):
            retained = []
            for retained_item_data in self.retained:
                retained_item = retained_item_data.to_dict()
                retained.append(retained_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "note": note,
            "outcome": outcome,
        })
        if retained is not UNSET:
            field_dict["retained"] = retained

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.retained_in import RetainedIn # noqa: PLC0415
        d = dict(src_dict)
        note = d.pop("note")

        outcome = CompleteTaskBodyOutcome(d.pop("outcome"))




        _retained = d.pop("retained", UNSET)
        retained: list[RetainedIn] | Unset = UNSET
        if _retained is not UNSET:
            retained = []
            for retained_item_data in _retained:
                retained_item = RetainedIn.from_dict(retained_item_data)



                retained.append(retained_item)


        complete_task_body = cls(
            note=note,
            outcome=outcome,
            retained=retained,
        )

        return complete_task_body

