from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="RetainedOut")



@_attrs_define
class RetainedOut:
    """ Something a system keeps, why, and until when.

        Attributes:
            basis (str): the legal basis for keeping it
            category (str):
            basis_code (None | str | Unset): the privacy policy's legal basis (e.g. bookkeeping)
            code (None | str | Unset): what is kept, as a code (e.g. invoices)
            until (None | str | Unset): YYYY-MM-DD, the last day it is kept (its erasure runs the day after); null while a
                contract is in force
     """

    basis: str
    category: str
    basis_code: None | str | Unset = UNSET
    code: None | str | Unset = UNSET
    until: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        basis = self.basis

        category = self.category

        basis_code: None | str | Unset
        if isinstance(self.basis_code, Unset):
            basis_code = UNSET
        else:
            basis_code = self.basis_code

        code: None | str | Unset
        if isinstance(self.code, Unset):
            code = UNSET
        else:
            code = self.code

        until: None | str | Unset
        if isinstance(self.until, Unset):
            until = UNSET
        else:
            until = self.until


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "basis": basis,
            "category": category,
        })
        if basis_code is not UNSET:
            field_dict["basis_code"] = basis_code
        if code is not UNSET:
            field_dict["code"] = code
        if until is not UNSET:
            field_dict["until"] = until

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        basis = d.pop("basis")

        category = d.pop("category")

        def _parse_basis_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        basis_code = _parse_basis_code(d.pop("basis_code", UNSET))


        def _parse_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        code = _parse_code(d.pop("code", UNSET))


        def _parse_until(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        until = _parse_until(d.pop("until", UNSET))


        retained_out = cls(
            basis=basis,
            category=category,
            basis_code=basis_code,
            code=code,
            until=until,
        )


        retained_out.additional_properties = d
        return retained_out

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
