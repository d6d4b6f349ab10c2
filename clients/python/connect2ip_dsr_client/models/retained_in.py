from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="RetainedIn")



@_attrs_define
class RetainedIn:
    """ 
        Attributes:
            basis (str):
            category (str):
            until (datetime.date | None | Unset): the last day it is kept (its erasure runs the day after), from the day the
                request was received up to 2100-12-31 (another date is a 422); null while a contract is in force
     """

    basis: str
    category: str
    until: datetime.date | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        basis = self.basis

        category = self.category

        until: None | str | Unset
        if isinstance(self.until, Unset):
            until = UNSET
        elif isinstance(self.until, datetime.date):
            until = self.until.isoformat()
        else:
            until = self.until


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "basis": basis,
            "category": category,
        })
        if until is not UNSET:
            field_dict["until"] = until

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        basis = d.pop("basis")

        category = d.pop("category")

        def _parse_until(data: object) -> datetime.date | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                until_type_0 = datetime.date.fromisoformat(data)



                return until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None | Unset, data)

        until = _parse_until(d.pop("until", UNSET))


        retained_in = cls(
            basis=basis,
            category=category,
            until=until,
        )

        return retained_in

