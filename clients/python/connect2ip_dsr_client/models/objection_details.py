from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.objection_processing import ObjectionProcessing
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ObjectionDetails")



@_attrs_define
class ObjectionDetails:
    """ 
        Attributes:
            processing (ObjectionProcessing):
            activity (None | str | Unset): legitimate interest: which processing the customer objects to, in their words
                (required then)
            grounds (None | str | Unset): legitimate interest: why, from the customer's particular situation (art. 21(1));
                required then
            unlist (bool | Unset): direct marketing: also remove the listing in the directory; a separate choice, never
                implied by the objection Default: False.
     """

    processing: ObjectionProcessing
    activity: None | str | Unset = UNSET
    grounds: None | str | Unset = UNSET
    unlist: bool | Unset = False





    def to_dict(self) -> dict[str, Any]:
        processing = self.processing.value

        activity: None | str | Unset
        if isinstance(self.activity, Unset):
            activity = UNSET
        else:
            activity = self.activity

        grounds: None | str | Unset
        if isinstance(self.grounds, Unset):
            grounds = UNSET
        else:
            grounds = self.grounds

        unlist = self.unlist


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "processing": processing,
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if grounds is not UNSET:
            field_dict["grounds"] = grounds
        if unlist is not UNSET:
            field_dict["unlist"] = unlist

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        processing = ObjectionProcessing(d.pop("processing"))




        def _parse_activity(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        activity = _parse_activity(d.pop("activity", UNSET))


        def _parse_grounds(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        grounds = _parse_grounds(d.pop("grounds", UNSET))


        unlist = d.pop("unlist", UNSET)

        objection_details = cls(
            processing=processing,
            activity=activity,
            grounds=grounds,
            unlist=unlist,
        )

        return objection_details

