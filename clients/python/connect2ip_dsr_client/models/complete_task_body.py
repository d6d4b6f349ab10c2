from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.complete_task_body_decision_type_0 import CompleteTaskBodyDecisionType0
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
            note (str): what was done (no personal data); for an objection's assessment, the reasons for the decision, told
                to the customer
            outcome (CompleteTaskBodyOutcome):
            decision (CompleteTaskBodyDecisionType0 | None | Unset): required for an objection's assessment
                (assess_objection): upheld = the processing stops; overridden = compelling legitimate grounds override the
                customer's interests (art. 21(1)), and it continues
            retained (list[RetainedIn] | Unset):
     """

    note: str
    outcome: CompleteTaskBodyOutcome
    decision: CompleteTaskBodyDecisionType0 | None | Unset = UNSET
    retained: list[RetainedIn] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.retained_in import RetainedIn # noqa: PLC0415
        note = self.note

        outcome = self.outcome.value

        decision: None | str | Unset
        if isinstance(self.decision, Unset):
            decision = UNSET
        elif isinstance(self.decision, CompleteTaskBodyDecisionType0):
            decision = self.decision.value
        else:
            decision = self.decision

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
        if decision is not UNSET:
            field_dict["decision"] = decision
        if retained is not UNSET:
            field_dict["retained"] = retained

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.retained_in import RetainedIn # noqa: PLC0415
        d = dict(src_dict)
        note = d.pop("note")

        outcome = CompleteTaskBodyOutcome(d.pop("outcome"))




        def _parse_decision(data: object) -> CompleteTaskBodyDecisionType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decision_type_0 = CompleteTaskBodyDecisionType0(data)



                return decision_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CompleteTaskBodyDecisionType0 | None | Unset, data)

        decision = _parse_decision(d.pop("decision", UNSET))


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
            decision=decision,
            retained=retained,
        )

        return complete_task_body

