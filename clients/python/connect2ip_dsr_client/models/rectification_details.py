from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.rectification_changes import RectificationChanges





T = TypeVar("T", bound="RectificationDetails")



@_attrs_define
class RectificationDetails:
    """ 
        Attributes:
            changes (RectificationChanges): The fields to correct and their new values (at least one).
     """

    changes: RectificationChanges





    def to_dict(self) -> dict[str, Any]:
        from ..models.rectification_changes import RectificationChanges # noqa: PLC0415
        changes = self.changes.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "changes": changes,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rectification_changes import RectificationChanges # noqa: PLC0415
        d = dict(src_dict)
        changes = RectificationChanges.from_dict(d.pop("changes"))




        rectification_details = cls(
            changes=changes,
        )

        return rectification_details

