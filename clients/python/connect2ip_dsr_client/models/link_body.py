from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="LinkBody")



@_attrs_define
class LinkBody:
    """ 
        Attributes:
            external_id (str): the system's key for the customer: service ID (stadsnat), Fortnox customer number (fortnox),
                phone number (snpac), listing ID (eniro), order ID (installer)
     """

    external_id: str





    def to_dict(self) -> dict[str, Any]:
        external_id = self.external_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "external_id": external_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        external_id = d.pop("external_id")

        link_body = cls(
            external_id=external_id,
        )

        return link_body

