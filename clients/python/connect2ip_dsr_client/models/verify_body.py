from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="VerifyBody")



@_attrs_define
class VerifyBody:
    """ 
        Attributes:
            method (str): how the customer's identity was checked
     """

    method: str





    def to_dict(self) -> dict[str, Any]:
        method = self.method


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "method": method,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        method = d.pop("method")

        verify_body = cls(
            method=method,
        )

        return verify_body

