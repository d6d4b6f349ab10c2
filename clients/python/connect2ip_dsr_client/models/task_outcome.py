from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.retained_out import RetainedOut
  from ..models.task_outcome_params import TaskOutcomeParams





T = TypeVar("T", bound="TaskOutcome")



@_attrs_define
class TaskOutcome:
    """ What a system answered, without personal data.

        Attributes:
            code (str | Unset): the outcome as a code the answer words in its language
            data_categories (list[str] | Unset): categories of data the system returned (access, portability); the data
                itself is in the response package
            params (TaskOutcomeParams | Unset): the code's values
            retained (list[RetainedOut] | Unset): what is kept (status retained)
            summary (str | Unset):
            uncertain (bool | Unset): true when an attempt may have reached the partner but whether it was applied is not
                known
     """

    code: str | Unset = UNSET
    data_categories: list[str] | Unset = UNSET
    params: TaskOutcomeParams | Unset = UNSET
    retained: list[RetainedOut] | Unset = UNSET
    summary: str | Unset = UNSET
    uncertain: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.retained_out import RetainedOut # noqa: PLC0415
        from ..models.task_outcome_params import TaskOutcomeParams # noqa: PLC0415
        code = self.code

        data_categories: list[str] | Unset = UNSET
        if not isinstance(self.data_categories, Unset):
            data_categories = self.data_categories



        params: dict[str, Any] | Unset = UNSET
        if not isinstance(self.params, Unset):
            params = self.params.to_dict()

        retained: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.retained, Unset):
            retained = []
            for retained_item_data in self.retained:
                retained_item = retained_item_data.to_dict()
                retained.append(retained_item)



        summary = self.summary

        uncertain = self.uncertain


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if code is not UNSET:
            field_dict["code"] = code
        if data_categories is not UNSET:
            field_dict["data_categories"] = data_categories
        if params is not UNSET:
            field_dict["params"] = params
        if retained is not UNSET:
            field_dict["retained"] = retained
        if summary is not UNSET:
            field_dict["summary"] = summary
        if uncertain is not UNSET:
            field_dict["uncertain"] = uncertain

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.retained_out import RetainedOut # noqa: PLC0415
        from ..models.task_outcome_params import TaskOutcomeParams # noqa: PLC0415
        d = dict(src_dict)
        code = d.pop("code", UNSET)

        data_categories = cast(list[str], d.pop("data_categories", UNSET))


        _params = d.pop("params", UNSET)
        params: TaskOutcomeParams | Unset
        if isinstance(_params,  Unset):
            params = UNSET
        else:
            params = TaskOutcomeParams.from_dict(_params)




        _retained = d.pop("retained", UNSET)
        retained: list[RetainedOut] | Unset = UNSET
        if _retained is not UNSET:
            retained = []
            for retained_item_data in _retained:
                retained_item = RetainedOut.from_dict(retained_item_data)



                retained.append(retained_item)


        summary = d.pop("summary", UNSET)

        uncertain = d.pop("uncertain", UNSET)

        task_outcome = cls(
            code=code,
            data_categories=data_categories,
            params=params,
            retained=retained,
            summary=summary,
            uncertain=uncertain,
        )


        task_outcome.additional_properties = d
        return task_outcome

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
