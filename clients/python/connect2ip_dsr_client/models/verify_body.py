from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.identity_method import IdentityMethod






T = TypeVar("T", bound="VerifyBody")



@_attrs_define
class VerifyBody:
    """ 
        Attributes:
            method (IdentityMethod): How a person's identity was checked (art. 12(6)): an electronic ID, an identity
                document
                seen by an agent, or in person at an office. Anything weaker is not a verification.
     """

    method: IdentityMethod





    def to_dict(self) -> dict[str, Any]:
        method = self.method.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "method": method,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        method = IdentityMethod(d.pop("method"))




        verify_body = cls(
            method=method,
        )

        return verify_body

