from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.channel import Channel
from ..models.language import Language
from ..models.reject_reason import RejectReason
from ..models.request_out_closing_as_type_0 import RequestOutClosingAsType0
from ..models.request_status import RequestStatus
from ..models.request_type import RequestType
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.details_out import DetailsOut
  from ..models.response_info import ResponseInfo
  from ..models.task_out import TaskOut





T = TypeVar("T", bound="RequestOut")



@_attrs_define
class RequestOut:
    """ 
        Attributes:
            channel (Channel):
            created_at (datetime.datetime):
            customer_number (str):
            details (DetailsOut): A request's details as shown: a rectification names its fields, never the values.
            due_at (datetime.datetime):
            extended_months (int):
            id (UUID):
            identity_verification (None | str):
            language (Language):
            overdue (bool):
            received_at (datetime.datetime):
            status (RequestStatus):
            tasks (list[TaskOut]):
            type_ (RequestType):
            closing_as (None | RequestOutClosingAsType0 | Unset): set while a reject or cancel waits for work already sent
                to partners: those tasks are followed to their real outcome, then the request takes this status (it stays
                in_progress meanwhile and accepts no other action)
            closing_requested_at (datetime.datetime | None | Unset):
            extension_reason (None | str | Unset): why the deadline was extended (told to the customer, art. 12(3))
            finished_at (datetime.datetime | None | Unset):
            lift_reason (None | str | Unset): why a restriction was lifted (art. 18(3))
            reject_reason (None | RejectReason | Unset):
            response (None | ResponseInfo | Unset): the response package, once built (also after it is purged)
            response_url (None | str | Unset): where to download the response, while it is available
     """

    channel: Channel
    created_at: datetime.datetime
    customer_number: str
    details: DetailsOut
    due_at: datetime.datetime
    extended_months: int
    id: UUID
    identity_verification: None | str
    language: Language
    overdue: bool
    received_at: datetime.datetime
    status: RequestStatus
    tasks: list[TaskOut]
    type_: RequestType
    closing_as: None | RequestOutClosingAsType0 | Unset = UNSET
    closing_requested_at: datetime.datetime | None | Unset = UNSET
    extension_reason: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    lift_reason: None | str | Unset = UNSET
    reject_reason: None | RejectReason | Unset = UNSET
    response: None | ResponseInfo | Unset = UNSET
    response_url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.details_out import DetailsOut # noqa: PLC0415
        from ..models.response_info import ResponseInfo # noqa: PLC0415
        from ..models.task_out import TaskOut # noqa: PLC0415
        channel = self.channel.value

        created_at = self.created_at.isoformat()

        customer_number = self.customer_number

        details = self.details.to_dict()

        due_at = self.due_at.isoformat()

        extended_months = self.extended_months

        id = str(self.id)

        identity_verification: None | str
        identity_verification = self.identity_verification

        language = self.language.value

        overdue = self.overdue

        received_at = self.received_at.isoformat()

        status = self.status.value

        tasks = []
        for tasks_item_data in self.tasks:
            tasks_item = tasks_item_data.to_dict()
            tasks.append(tasks_item)



        type_ = self.type_.value

        closing_as: None | str | Unset
        if isinstance(self.closing_as, Unset):
            closing_as = UNSET
        elif isinstance(self.closing_as, RequestOutClosingAsType0):
            closing_as = self.closing_as.value
        else:
            closing_as = self.closing_as

        closing_requested_at: None | str | Unset
        if isinstance(self.closing_requested_at, Unset):
            closing_requested_at = UNSET
        elif isinstance(self.closing_requested_at, datetime.datetime):
            closing_requested_at = self.closing_requested_at.isoformat()
        else:
            closing_requested_at = self.closing_requested_at

        extension_reason: None | str | Unset
        if isinstance(self.extension_reason, Unset):
            extension_reason = UNSET
        else:
            extension_reason = self.extension_reason

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        lift_reason: None | str | Unset
        if isinstance(self.lift_reason, Unset):
            lift_reason = UNSET
        else:
            lift_reason = self.lift_reason

        reject_reason: None | str | Unset
        if isinstance(self.reject_reason, Unset):
            reject_reason = UNSET
        elif isinstance(self.reject_reason, RejectReason):
            reject_reason = self.reject_reason.value
        else:
            reject_reason = self.reject_reason

        response: dict[str, Any] | None | Unset
        if isinstance(self.response, Unset):
            response = UNSET
        elif isinstance(self.response, ResponseInfo):
            response = self.response.to_dict()
        else:
            response = self.response

        response_url: None | str | Unset
        if isinstance(self.response_url, Unset):
            response_url = UNSET
        else:
            response_url = self.response_url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "channel": channel,
            "created_at": created_at,
            "customer_number": customer_number,
            "details": details,
            "due_at": due_at,
            "extended_months": extended_months,
            "id": id,
            "identity_verification": identity_verification,
            "language": language,
            "overdue": overdue,
            "received_at": received_at,
            "status": status,
            "tasks": tasks,
            "type": type_,
        })
        if closing_as is not UNSET:
            field_dict["closing_as"] = closing_as
        if closing_requested_at is not UNSET:
            field_dict["closing_requested_at"] = closing_requested_at
        if extension_reason is not UNSET:
            field_dict["extension_reason"] = extension_reason
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if lift_reason is not UNSET:
            field_dict["lift_reason"] = lift_reason
        if reject_reason is not UNSET:
            field_dict["reject_reason"] = reject_reason
        if response is not UNSET:
            field_dict["response"] = response
        if response_url is not UNSET:
            field_dict["response_url"] = response_url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.details_out import DetailsOut # noqa: PLC0415
        from ..models.response_info import ResponseInfo # noqa: PLC0415
        from ..models.task_out import TaskOut # noqa: PLC0415
        d = dict(src_dict)
        channel = Channel(d.pop("channel"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        customer_number = d.pop("customer_number")

        details = DetailsOut.from_dict(d.pop("details"))




        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))




        extended_months = d.pop("extended_months")

        id = UUID(d.pop("id"))




        def _parse_identity_verification(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        identity_verification = _parse_identity_verification(d.pop("identity_verification"))


        language = Language(d.pop("language"))




        overdue = d.pop("overdue")

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))




        status = RequestStatus(d.pop("status"))




        tasks = []
        _tasks = d.pop("tasks")
        for tasks_item_data in (_tasks):
            tasks_item = TaskOut.from_dict(tasks_item_data)



            tasks.append(tasks_item)


        type_ = RequestType(d.pop("type"))




        def _parse_closing_as(data: object) -> None | RequestOutClosingAsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closing_as_type_0 = RequestOutClosingAsType0(data)



                return closing_as_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RequestOutClosingAsType0 | Unset, data)

        closing_as = _parse_closing_as(d.pop("closing_as", UNSET))


        def _parse_closing_requested_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closing_requested_at_type_0 = datetime.datetime.fromisoformat(data)



                return closing_requested_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        closing_requested_at = _parse_closing_requested_at(d.pop("closing_requested_at", UNSET))


        def _parse_extension_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        extension_reason = _parse_extension_reason(d.pop("extension_reason", UNSET))


        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        def _parse_lift_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lift_reason = _parse_lift_reason(d.pop("lift_reason", UNSET))


        def _parse_reject_reason(data: object) -> None | RejectReason | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reject_reason_type_0 = RejectReason(data)



                return reject_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RejectReason | Unset, data)

        reject_reason = _parse_reject_reason(d.pop("reject_reason", UNSET))


        def _parse_response(data: object) -> None | ResponseInfo | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_type_0 = ResponseInfo.from_dict(data)



                return response_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResponseInfo | Unset, data)

        response = _parse_response(d.pop("response", UNSET))


        def _parse_response_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        response_url = _parse_response_url(d.pop("response_url", UNSET))


        request_out = cls(
            channel=channel,
            created_at=created_at,
            customer_number=customer_number,
            details=details,
            due_at=due_at,
            extended_months=extended_months,
            id=id,
            identity_verification=identity_verification,
            language=language,
            overdue=overdue,
            received_at=received_at,
            status=status,
            tasks=tasks,
            type_=type_,
            closing_as=closing_as,
            closing_requested_at=closing_requested_at,
            extension_reason=extension_reason,
            finished_at=finished_at,
            lift_reason=lift_reason,
            reject_reason=reject_reason,
            response=response,
            response_url=response_url,
        )


        request_out.additional_properties = d
        return request_out

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
