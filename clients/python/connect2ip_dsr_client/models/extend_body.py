from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ExtendBody")



@_attrs_define
class ExtendBody:
    """ 
        Attributes:
            months (int): 1 or 2; two further months at most in all
            reason (str): told to the customer (art. 12(3))
     """

    months: int
    reason: str





    def to_dict(self) -> dict[str, Any]:
        months = self.months

        reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "months": months,
            "reason": reason,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        months = d.pop("months")

        reason = d.pop("reason")

        extend_body = cls(
            months=months,
            reason=reason,
        )

        return extend_body

