from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.objection_processing import ObjectionProcessing
from ..models.portability_format import PortabilityFormat
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="DetailsOut")



@_attrs_define
class DetailsOut:
    """ A request's details as shown: a rectification names its fields, never the values.

        Attributes:
            activity (str | Unset): objection on legitimate interest: what is objected to
            changes (list[str] | Unset): rectification: the fields corrected (values not echoed)
            formats (list[PortabilityFormat] | Unset):
            grounds (str | Unset): restriction: an art. 18(1) ground, or retention_policy for the lock the privacy policy
                applies after a contract ends; objection on legitimate interest: the customer's grounds
            processing (ObjectionProcessing | Unset):
            receiving_operator (str | Unset):
            unlist (bool | Unset): objection to direct marketing: the listing goes too
     """

    activity: str | Unset = UNSET
    changes: list[str] | Unset = UNSET
    formats: list[PortabilityFormat] | Unset = UNSET
    grounds: str | Unset = UNSET
    processing: ObjectionProcessing | Unset = UNSET
    receiving_operator: str | Unset = UNSET
    unlist: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        activity = self.activity

        changes: list[str] | Unset = UNSET
        if not isinstance(self.changes, Unset):
            changes = self.changes



        formats: list[str] | Unset = UNSET
        if not isinstance(self.formats, Unset):
            formats = []
            for formats_item_data in self.formats:
                formats_item = formats_item_data.value
                formats.append(formats_item)



        grounds = self.grounds

        processing: str | Unset = UNSET
        if not isinstance(self.processing, Unset):
            processing = self.processing.value


        receiving_operator = self.receiving_operator

        unlist = self.unlist


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if changes is not UNSET:
            field_dict["changes"] = changes
        if formats is not UNSET:
            field_dict["formats"] = formats
        if grounds is not UNSET:
            field_dict["grounds"] = grounds
        if processing is not UNSET:
            field_dict["processing"] = processing
        if receiving_operator is not UNSET:
            field_dict["receiving_operator"] = receiving_operator
        if unlist is not UNSET:
            field_dict["unlist"] = unlist

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        activity = d.pop("activity", UNSET)

        changes = cast(list[str], d.pop("changes", UNSET))


        _formats = d.pop("formats", UNSET)
        formats: list[PortabilityFormat] | Unset = UNSET
        if _formats is not UNSET:
            formats = []
            for formats_item_data in _formats:
                formats_item = PortabilityFormat(formats_item_data)



                formats.append(formats_item)


        grounds = d.pop("grounds", UNSET)

        _processing = d.pop("processing", UNSET)
        processing: ObjectionProcessing | Unset
        if isinstance(_processing,  Unset):
            processing = UNSET
        else:
            processing = ObjectionProcessing(_processing)




        receiving_operator = d.pop("receiving_operator", UNSET)

        unlist = d.pop("unlist", UNSET)

        details_out = cls(
            activity=activity,
            changes=changes,
            formats=formats,
            grounds=grounds,
            processing=processing,
            receiving_operator=receiving_operator,
            unlist=unlist,
        )


        details_out.additional_properties = d
        return details_out

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
