from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import Literal, cast






T = TypeVar("T", bound="SubjectIdentity")



@_attrs_define
class SubjectIdentity:
    """ 
        Attributes:
            identity_value (str): the pseudonymous link for this partner only (service ID, phone number, listing ID)
            identity_format (Literal['raw'] | Unset):  Default: 'raw'.
            identity_type (Literal['controller_customer_id'] | Unset):  Default: 'controller_customer_id'.
     """

    identity_value: str
    identity_format: Literal['raw'] | Unset = 'raw'
    identity_type: Literal['controller_customer_id'] | Unset = 'controller_customer_id'
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        identity_value = self.identity_value

        identity_format = self.identity_format

        identity_type = self.identity_type


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "identity_value": identity_value,
        })
        if identity_format is not UNSET:
            field_dict["identity_format"] = identity_format
        if identity_type is not UNSET:
            field_dict["identity_type"] = identity_type

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        identity_value = d.pop("identity_value")

        identity_format = cast(Literal['raw'] | Unset , d.pop("identity_format", UNSET))
        if identity_format != 'raw'and not isinstance(identity_format, Unset):
            raise ValueError(f"identity_format must match const 'raw', got '{identity_format}'")

        identity_type = cast(Literal['controller_customer_id'] | Unset , d.pop("identity_type", UNSET))
        if identity_type != 'controller_customer_id'and not isinstance(identity_type, Unset):
            raise ValueError(f"identity_type must match const 'controller_customer_id', got '{identity_type}'")

        subject_identity = cls(
            identity_value=identity_value,
            identity_format=identity_format,
            identity_type=identity_type,
        )


        subject_identity.additional_properties = d
        return subject_identity

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
