from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.event_action import EventAction
from ..models.request_status import RequestStatus
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.event_out_data import EventOutData





T = TypeVar("T", bound="EventOut")



@_attrs_define
class EventOut:
    """ 
        Attributes:
            action (EventAction): What an audit event records (``app.services.audit`` refuses any other).
            actor (str):
            actor_role (str):
            at (datetime.datetime):
            data (EventOutData):
            from_status (None | RequestStatus):
            hash_ (str):
            prev_hash (str):
            seq (int):
            to_status (None | RequestStatus):
     """

    action: EventAction
    actor: str
    actor_role: str
    at: datetime.datetime
    data: EventOutData
    from_status: None | RequestStatus
    hash_: str
    prev_hash: str
    seq: int
    to_status: None | RequestStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_out_data import EventOutData # noqa: PLC0415
        action = self.action.value

        actor = self.actor

        actor_role = self.actor_role

        at = self.at.isoformat()

        data = self.data.to_dict()

        from_status: None | str
        if isinstance(self.from_status, RequestStatus):
            from_status = self.from_status.value
        else:
            from_status = self.from_status

        hash_ = self.hash_

        prev_hash = self.prev_hash

        seq = self.seq

        to_status: None | str
        if isinstance(self.to_status, RequestStatus):
            to_status = self.to_status.value
        else:
            to_status = self.to_status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "actor": actor,
            "actor_role": actor_role,
            "at": at,
            "data": data,
            "from_status": from_status,
            "hash": hash_,
            "prev_hash": prev_hash,
            "seq": seq,
            "to_status": to_status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_out_data import EventOutData # noqa: PLC0415
        d = dict(src_dict)
        action = EventAction(d.pop("action"))




        actor = d.pop("actor")

        actor_role = d.pop("actor_role")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        data = EventOutData.from_dict(d.pop("data"))




        def _parse_from_status(data: object) -> None | RequestStatus:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                from_status_type_0 = RequestStatus(data)



                return from_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RequestStatus, data)

        from_status = _parse_from_status(d.pop("from_status"))


        hash_ = d.pop("hash")

        prev_hash = d.pop("prev_hash")

        seq = d.pop("seq")

        def _parse_to_status(data: object) -> None | RequestStatus:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                to_status_type_0 = RequestStatus(data)



                return to_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RequestStatus, data)

        to_status = _parse_to_status(d.pop("to_status"))


        event_out = cls(
            action=action,
            actor=actor,
            actor_role=actor_role,
            at=at,
            data=data,
            from_status=from_status,
            hash_=hash_,
            prev_hash=prev_hash,
            seq=seq,
            to_status=to_status,
        )


        event_out.additional_properties = d
        return event_out

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
