from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="NotificationData")



@_attrs_define
class NotificationData:
    """ Ids, statuses and dates only; never personal data.

        Attributes:
            customer_number (str):
            request_id (str):
            request_type (str):
            status (str):
            due_at (None | str | Unset): request.received, .extended
            extended_months (int | None | Unset): request.extended: the months added in all (1 or 2); the letter with the
                reason is at notice_url
            lift_from (None | str | Unset): restriction.lift_notice: the earliest moment the lift may start (a lower bound:
                the period counts from delivery)
            notice_period_s (float | None | Unset): restriction.lift_notice: how long after delivery of this notice the
                first system may lift the restriction
            notice_url (None | str | Unset): request.extended: path of the extension letter (HTML), on this service
            response_url (None | str | Unset): request.completed: path of the download, on this service
     """

    customer_number: str
    request_id: str
    request_type: str
    status: str
    due_at: None | str | Unset = UNSET
    extended_months: int | None | Unset = UNSET
    lift_from: None | str | Unset = UNSET
    notice_period_s: float | None | Unset = UNSET
    notice_url: None | str | Unset = UNSET
    response_url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        customer_number = self.customer_number

        request_id = self.request_id

        request_type = self.request_type

        status = self.status

        due_at: None | str | Unset
        if isinstance(self.due_at, Unset):
            due_at = UNSET
        else:
            due_at = self.due_at

        extended_months: int | None | Unset
        if isinstance(self.extended_months, Unset):
            extended_months = UNSET
        else:
            extended_months = self.extended_months

        lift_from: None | str | Unset
        if isinstance(self.lift_from, Unset):
            lift_from = UNSET
        else:
            lift_from = self.lift_from

        notice_period_s: float | None | Unset
        if isinstance(self.notice_period_s, Unset):
            notice_period_s = UNSET
        else:
            notice_period_s = self.notice_period_s

        notice_url: None | str | Unset
        if isinstance(self.notice_url, Unset):
            notice_url = UNSET
        else:
            notice_url = self.notice_url

        response_url: None | str | Unset
        if isinstance(self.response_url, Unset):
            response_url = UNSET
        else:
            response_url = self.response_url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "customer_number": customer_number,
            "request_id": request_id,
            "request_type": request_type,
            "status": status,
        })
        if due_at is not UNSET:
            field_dict["due_at"] = due_at
        if extended_months is not UNSET:
            field_dict["extended_months"] = extended_months
        if lift_from is not UNSET:
            field_dict["lift_from"] = lift_from
        if notice_period_s is not UNSET:
            field_dict["notice_period_s"] = notice_period_s
        if notice_url is not UNSET:
            field_dict["notice_url"] = notice_url
        if response_url is not UNSET:
            field_dict["response_url"] = response_url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customer_number = d.pop("customer_number")

        request_id = d.pop("request_id")

        request_type = d.pop("request_type")

        status = d.pop("status")

        def _parse_due_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        due_at = _parse_due_at(d.pop("due_at", UNSET))


        def _parse_extended_months(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        extended_months = _parse_extended_months(d.pop("extended_months", UNSET))


        def _parse_lift_from(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lift_from = _parse_lift_from(d.pop("lift_from", UNSET))


        def _parse_notice_period_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        notice_period_s = _parse_notice_period_s(d.pop("notice_period_s", UNSET))


        def _parse_notice_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notice_url = _parse_notice_url(d.pop("notice_url", UNSET))


        def _parse_response_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        response_url = _parse_response_url(d.pop("response_url", UNSET))


        notification_data = cls(
            customer_number=customer_number,
            request_id=request_id,
            request_type=request_type,
            status=status,
            due_at=due_at,
            extended_months=extended_months,
            lift_from=lift_from,
            notice_period_s=notice_period_s,
            notice_url=notice_url,
            response_url=response_url,
        )


        notification_data.additional_properties = d
        return notification_data

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
