from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.objection_processing import ObjectionProcessing






T = TypeVar("T", bound="ObjectionDetails")



@_attrs_define
class ObjectionDetails:
    """ 
        Attributes:
            processing (ObjectionProcessing):
     """

    processing: ObjectionProcessing





    def to_dict(self) -> dict[str, Any]:
        processing = self.processing.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "processing": processing,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        processing = ObjectionProcessing(d.pop("processing"))




        objection_details = cls(
            processing=processing,
        )

        return objection_details

