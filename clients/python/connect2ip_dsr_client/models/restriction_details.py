from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.restriction_grounds import RestrictionGrounds






T = TypeVar("T", bound="RestrictionDetails")



@_attrs_define
class RestrictionDetails:
    """ 
        Attributes:
            grounds (RestrictionGrounds): GDPR art. 18(1) (a)-(d).
     """

    grounds: RestrictionGrounds





    def to_dict(self) -> dict[str, Any]:
        grounds = self.grounds.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "grounds": grounds,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        grounds = RestrictionGrounds(d.pop("grounds"))




        restriction_details = cls(
            grounds=grounds,
        )

        return restriction_details

