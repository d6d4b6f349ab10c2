from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.reject_reason import RejectReason






T = TypeVar("T", bound="RejectBody")



@_attrs_define
class RejectBody:
    """ 
        Attributes:
            note (str):
            reason (RejectReason):
     """

    note: str
    reason: RejectReason





    def to_dict(self) -> dict[str, Any]:
        note = self.note

        reason = self.reason.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "note": note,
            "reason": reason,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        note = d.pop("note")

        reason = RejectReason(d.pop("reason"))




        reject_body = cls(
            note=note,
            reason=reason,
        )

        return reject_body

