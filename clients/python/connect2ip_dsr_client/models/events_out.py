from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.event_out import EventOut





T = TypeVar("T", bound="EventsOut")



@_attrs_define
class EventsOut:
    """ 
        Attributes:
            chain_intact (bool): whether every event's hash checks out
            events (list[EventOut]):
            request_id (UUID):
     """

    chain_intact: bool
    events: list[EventOut]
    request_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_out import EventOut # noqa: PLC0415
        chain_intact = self.chain_intact

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        request_id = str(self.request_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "chain_intact": chain_intact,
            "events": events,
            "request_id": request_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_out import EventOut # noqa: PLC0415
        d = dict(src_dict)
        chain_intact = d.pop("chain_intact")

        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = EventOut.from_dict(events_item_data)



            events.append(events_item)


        request_id = UUID(d.pop("request_id"))




        events_out = cls(
            chain_intact=chain_intact,
            events=events,
            request_id=request_id,
        )


        events_out.additional_properties = d
        return events_out

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
