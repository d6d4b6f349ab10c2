from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.system import System
from typing import cast
import datetime






T = TypeVar("T", bound="LinkOut")



@_attrs_define
class LinkOut:
    """ 
        Attributes:
            customer_number (str):
            external_id (str):
            system (System): A system a request reaches: the company's own register, a partner, or a step an agent carries
                out by hand.
            updated_at (datetime.datetime):
     """

    customer_number: str
    external_id: str
    system: System
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        customer_number = self.customer_number

        external_id = self.external_id

        system = self.system.value

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "customer_number": customer_number,
            "external_id": external_id,
            "system": system,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customer_number = d.pop("customer_number")

        external_id = d.pop("external_id")

        system = System(d.pop("system"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        link_out = cls(
            customer_number=customer_number,
            external_id=external_id,
            system=system,
            updated_at=updated_at,
        )


        link_out.additional_properties = d
        return link_out

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
