from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.partner_result_outcome import PartnerResultOutcome
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.partner_result_data_type_0 import PartnerResultDataType0
  from ..models.partner_retained import PartnerRetained





T = TypeVar("T", bound="PartnerResult")



@_attrs_define
class PartnerResult:
    """ 
        Attributes:
            outcome (PartnerResultOutcome):
            data (None | PartnerResultDataType0 | Unset): access, portability only
            reason (None | str | Unset): for outcome refused
            retained (list[PartnerRetained] | None | Unset): required (non-empty) for outcome retained
            summary (None | str | Unset): what was done, no personal data
     """

    outcome: PartnerResultOutcome
    data: None | PartnerResultDataType0 | Unset = UNSET
    reason: None | str | Unset = UNSET
    retained: list[PartnerRetained] | None | Unset = UNSET
    summary: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.partner_result_data_type_0 import PartnerResultDataType0 # noqa: PLC0415
        from ..models.partner_retained import PartnerRetained # noqa: PLC0415
        outcome = self.outcome.value

        data: dict[str, Any] | None | Unset
        if isinstance(self.data, Unset):
            data = UNSET
        elif isinstance(self.data, PartnerResultDataType0):
            data = self.data.to_dict()
        else:
            data = self.data

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        retained: list[dict[str, Any]] | None | Unset
        if isinstance(self.retained, Unset):
            retained = UNSET
        elif isinstance(self.retained, list):
            retained = []
            for retained_type_0_item_data in self.retained:
                retained_type_0_item = retained_type_0_item_data.to_dict()
                retained.append(retained_type_0_item)


        else:
            retained = self.retained

        summary: None | str | Unset
        if isinstance(self.summary, Unset):
            summary = UNSET
        else:
            summary = self.summary


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "outcome": outcome,
        })
        if data is not UNSET:
            field_dict["data"] = data
        if reason is not UNSET:
            field_dict["reason"] = reason
        if retained is not UNSET:
            field_dict["retained"] = retained
        if summary is not UNSET:
            field_dict["summary"] = summary

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.partner_result_data_type_0 import PartnerResultDataType0 # noqa: PLC0415
        from ..models.partner_retained import PartnerRetained # noqa: PLC0415
        d = dict(src_dict)
        outcome = PartnerResultOutcome(d.pop("outcome"))




        def _parse_data(data: object) -> None | PartnerResultDataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                data_type_0 = PartnerResultDataType0.from_dict(data)



                return data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PartnerResultDataType0 | Unset, data)

        data = _parse_data(d.pop("data", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        def _parse_retained(data: object) -> list[PartnerRetained] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                retained_type_0 = []
                _retained_type_0 = data
                for retained_type_0_item_data in (_retained_type_0):
                    retained_type_0_item = PartnerRetained.from_dict(retained_type_0_item_data)



                    retained_type_0.append(retained_type_0_item)

                return retained_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[PartnerRetained] | None | Unset, data)

        retained = _parse_retained(d.pop("retained", UNSET))


        def _parse_summary(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        summary = _parse_summary(d.pop("summary", UNSET))


        partner_result = cls(
            outcome=outcome,
            data=data,
            reason=reason,
            retained=retained,
            summary=summary,
        )


        partner_result.additional_properties = d
        return partner_result

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
