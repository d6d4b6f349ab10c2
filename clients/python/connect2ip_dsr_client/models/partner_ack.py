from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.partner_ack_request_status import PartnerAckRequestStatus
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="PartnerAck")



@_attrs_define
class PartnerAck:
    """ 
        Attributes:
            request_status (PartnerAckRequestStatus):
            subject_request_id (str):
            controller_id (None | str | Unset):
            expected_completion_time (datetime.datetime | None | Unset):
            received_time (datetime.datetime | None | Unset):
     """

    request_status: PartnerAckRequestStatus
    subject_request_id: str
    controller_id: None | str | Unset = UNSET
    expected_completion_time: datetime.datetime | None | Unset = UNSET
    received_time: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        request_status = self.request_status.value

        subject_request_id = self.subject_request_id

        controller_id: None | str | Unset
        if isinstance(self.controller_id, Unset):
            controller_id = UNSET
        else:
            controller_id = self.controller_id

        expected_completion_time: None | str | Unset
        if isinstance(self.expected_completion_time, Unset):
            expected_completion_time = UNSET
        elif isinstance(self.expected_completion_time, datetime.datetime):
            expected_completion_time = self.expected_completion_time.isoformat()
        else:
            expected_completion_time = self.expected_completion_time

        received_time: None | str | Unset
        if isinstance(self.received_time, Unset):
            received_time = UNSET
        elif isinstance(self.received_time, datetime.datetime):
            received_time = self.received_time.isoformat()
        else:
            received_time = self.received_time


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "request_status": request_status,
            "subject_request_id": subject_request_id,
        })
        if controller_id is not UNSET:
            field_dict["controller_id"] = controller_id
        if expected_completion_time is not UNSET:
            field_dict["expected_completion_time"] = expected_completion_time
        if received_time is not UNSET:
            field_dict["received_time"] = received_time

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        request_status = PartnerAckRequestStatus(d.pop("request_status"))




        subject_request_id = d.pop("subject_request_id")

        def _parse_controller_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        controller_id = _parse_controller_id(d.pop("controller_id", UNSET))


        def _parse_expected_completion_time(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expected_completion_time_type_0 = datetime.datetime.fromisoformat(data)



                return expected_completion_time_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expected_completion_time = _parse_expected_completion_time(d.pop("expected_completion_time", UNSET))


        def _parse_received_time(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                received_time_type_0 = datetime.datetime.fromisoformat(data)



                return received_time_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        received_time = _parse_received_time(d.pop("received_time", UNSET))


        partner_ack = cls(
            request_status=request_status,
            subject_request_id=subject_request_id,
            controller_id=controller_id,
            expected_completion_time=expected_completion_time,
            received_time=received_time,
        )


        partner_ack.additional_properties = d
        return partner_ack

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
