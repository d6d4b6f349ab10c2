from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.extensions_number_porting_type_0 import ExtensionsNumberPortingType0
  from ..models.extensions_objection_type_0 import ExtensionsObjectionType0
  from ..models.extensions_rectification_type_0 import ExtensionsRectificationType0
  from ..models.extensions_restriction_type_0 import ExtensionsRestrictionType0





T = TypeVar("T", bound="Extensions")



@_attrs_define
class Extensions:
    """ 
        Attributes:
            number_porting (ExtensionsNumberPortingType0 | None | Unset): `{"receiving_operator": "..."}` (snpac)
            objection (ExtensionsObjectionType0 | None | Unset): `{"processing": "direct_marketing"}`
            rectification (ExtensionsRectificationType0 | None | Unset): `{"changes": {field: new value}}`, only fields this
                partner holds
            restriction (ExtensionsRestrictionType0 | None | Unset): `{"grounds": "..."}`, or `{"lift": true}` to lift it
     """

    number_porting: ExtensionsNumberPortingType0 | None | Unset = UNSET
    objection: ExtensionsObjectionType0 | None | Unset = UNSET
    rectification: ExtensionsRectificationType0 | None | Unset = UNSET
    restriction: ExtensionsRestrictionType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.extensions_number_porting_type_0 import ExtensionsNumberPortingType0 # noqa: PLC0415
        from ..models.extensions_objection_type_0 import ExtensionsObjectionType0 # noqa: PLC0415
        from ..models.extensions_rectification_type_0 import ExtensionsRectificationType0 # noqa: PLC0415
        from ..models.extensions_restriction_type_0 import ExtensionsRestrictionType0 # noqa: PLC0415
        number_porting: dict[str, Any] | None | Unset
        if isinstance(self.number_porting, Unset):
            number_porting = UNSET
        elif isinstance(self.number_porting, ExtensionsNumberPortingType0):
            number_porting = self.number_porting.to_dict()
        else:
            number_porting = self.number_porting

        objection: dict[str, Any] | None | Unset
        if isinstance(self.objection, Unset):
            objection = UNSET
        elif isinstance(self.objection, ExtensionsObjectionType0):
            objection = self.objection.to_dict()
        else:
            objection = self.objection

        rectification: dict[str, Any] | None | Unset
        if isinstance(self.rectification, Unset):
            rectification = UNSET
        elif isinstance(self.rectification, ExtensionsRectificationType0):
            rectification = self.rectification.to_dict()
        else:
            rectification = self.rectification

        restriction: dict[str, Any] | None | Unset
        if isinstance(self.restriction, Unset):
            restriction = UNSET
        elif isinstance(self.restriction, ExtensionsRestrictionType0):
            restriction = self.restriction.to_dict()
        else:
            restriction = self.restriction


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if number_porting is not UNSET:
            field_dict["number_porting"] = number_porting
        if objection is not UNSET:
            field_dict["objection"] = objection
        if rectification is not UNSET:
            field_dict["rectification"] = rectification
        if restriction is not UNSET:
            field_dict["restriction"] = restriction

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.extensions_number_porting_type_0 import ExtensionsNumberPortingType0 # noqa: PLC0415
        from ..models.extensions_objection_type_0 import ExtensionsObjectionType0 # noqa: PLC0415
        from ..models.extensions_rectification_type_0 import ExtensionsRectificationType0 # noqa: PLC0415
        from ..models.extensions_restriction_type_0 import ExtensionsRestrictionType0 # noqa: PLC0415
        d = dict(src_dict)
        def _parse_number_porting(data: object) -> ExtensionsNumberPortingType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                number_porting_type_0 = ExtensionsNumberPortingType0.from_dict(data)



                return number_porting_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExtensionsNumberPortingType0 | None | Unset, data)

        number_porting = _parse_number_porting(d.pop("number_porting", UNSET))


        def _parse_objection(data: object) -> ExtensionsObjectionType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                objection_type_0 = ExtensionsObjectionType0.from_dict(data)



                return objection_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExtensionsObjectionType0 | None | Unset, data)

        objection = _parse_objection(d.pop("objection", UNSET))


        def _parse_rectification(data: object) -> ExtensionsRectificationType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                rectification_type_0 = ExtensionsRectificationType0.from_dict(data)



                return rectification_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExtensionsRectificationType0 | None | Unset, data)

        rectification = _parse_rectification(d.pop("rectification", UNSET))


        def _parse_restriction(data: object) -> ExtensionsRestrictionType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                restriction_type_0 = ExtensionsRestrictionType0.from_dict(data)



                return restriction_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExtensionsRestrictionType0 | None | Unset, data)

        restriction = _parse_restriction(d.pop("restriction", UNSET))


        extensions = cls(
            number_porting=number_porting,
            objection=objection,
            rectification=rectification,
            restriction=restriction,
        )


        extensions.additional_properties = d
        return extensions

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
