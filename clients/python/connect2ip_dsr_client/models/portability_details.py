from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.portability_details_receiving_operator_type_0 import PortabilityDetailsReceivingOperatorType0
from ..models.portability_format import PortabilityFormat
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="PortabilityDetails")



@_attrs_define
class PortabilityDetails:
    """ 
        Attributes:
            formats (list[PortabilityFormat] | Unset):
            receiving_operator (None | PortabilityDetailsReceivingOperatorType0 | Unset): the operator the phone number is
                to be ported to, one of the number-portability registry's: Telia, Tele2, Telenor, Tre, Bahnhof, Ownit, Telavox,
                Comviq, Halebop, Vimla, Fello, Hallon. In Sweden the receiving operator starts a port; this authorises it.
     """

    formats: list[PortabilityFormat] | Unset = UNSET
    receiving_operator: None | PortabilityDetailsReceivingOperatorType0 | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        formats: list[str] | Unset = UNSET
        if not isinstance(self.formats, Unset):
            formats = []
            for formats_item_data in self.formats:
                formats_item = formats_item_data.value
                formats.append(formats_item)



        receiving_operator: None | str | Unset
        if isinstance(self.receiving_operator, Unset):
            receiving_operator = UNSET
        elif isinstance(self.receiving_operator, PortabilityDetailsReceivingOperatorType0):
            receiving_operator = self.receiving_operator.value
        else:
            receiving_operator = self.receiving_operator


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if formats is not UNSET:
            field_dict["formats"] = formats
        if receiving_operator is not UNSET:
            field_dict["receiving_operator"] = receiving_operator

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _formats = d.pop("formats", UNSET)
        formats: list[PortabilityFormat] | Unset = UNSET
        if _formats is not UNSET:
            formats = []
            for formats_item_data in _formats:
                formats_item = PortabilityFormat(formats_item_data)



                formats.append(formats_item)


        def _parse_receiving_operator(data: object) -> None | PortabilityDetailsReceivingOperatorType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                receiving_operator_type_0 = PortabilityDetailsReceivingOperatorType0(data)



                return receiving_operator_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PortabilityDetailsReceivingOperatorType0 | Unset, data)

        receiving_operator = _parse_receiving_operator(d.pop("receiving_operator", UNSET))


        portability_details = cls(
            formats=formats,
            receiving_operator=receiving_operator,
        )

        return portability_details

