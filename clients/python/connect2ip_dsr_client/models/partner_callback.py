from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.partner_callback_request_status import PartnerCallbackRequestStatus
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.partner_result import PartnerResult
  from ..models.subject_identity import SubjectIdentity





T = TypeVar("T", bound="PartnerCallback")



@_attrs_define
class PartnerCallback:
    """ What an asynchronous partner posts to ``/v1/webhooks/{system}`` (and answers to
    ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
    nothing; ``completed`` must carry ``result`` and name the subject as it was sent.

        Attributes:
            request_status (PartnerCallbackRequestStatus):
            subject_request_id (str): the partner ref the request was sent with: the task id, or `<task id>.<round>` after
                an agent's retry
            result (None | PartnerResult | Unset):
            subject_identities (list[SubjectIdentity] | None | Unset):
     """

    request_status: PartnerCallbackRequestStatus
    subject_request_id: str
    result: None | PartnerResult | Unset = UNSET
    subject_identities: list[SubjectIdentity] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.partner_result import PartnerResult # noqa: PLC0415
        from ..models.subject_identity import SubjectIdentity # noqa: PLC0415
        request_status = self.request_status.value

        subject_request_id = self.subject_request_id

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, PartnerResult):
            result = self.result.to_dict()
        else:
            result = self.result

        subject_identities: list[dict[str, Any]] | None | Unset
        if isinstance(self.subject_identities, Unset):
            subject_identities = UNSET
        elif isinstance(self.subject_identities, list):
            subject_identities = []
            for subject_identities_type_0_item_data in self.subject_identities:
                subject_identities_type_0_item = subject_identities_type_0_item_data.to_dict()
                subject_identities.append(subject_identities_type_0_item)


        else:
            subject_identities = self.subject_identities


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "request_status": request_status,
            "subject_request_id": subject_request_id,
        })
        if result is not UNSET:
            field_dict["result"] = result
        if subject_identities is not UNSET:
            field_dict["subject_identities"] = subject_identities

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.partner_result import PartnerResult # noqa: PLC0415
        from ..models.subject_identity import SubjectIdentity # noqa: PLC0415
        d = dict(src_dict)
        request_status = PartnerCallbackRequestStatus(d.pop("request_status"))




        subject_request_id = d.pop("subject_request_id")

        def _parse_result(data: object) -> None | PartnerResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = PartnerResult.from_dict(data)



                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PartnerResult | Unset, data)

        result = _parse_result(d.pop("result", UNSET))


        def _parse_subject_identities(data: object) -> list[SubjectIdentity] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                subject_identities_type_0 = []
                _subject_identities_type_0 = data
                for subject_identities_type_0_item_data in (_subject_identities_type_0):
                    subject_identities_type_0_item = SubjectIdentity.from_dict(subject_identities_type_0_item_data)



                    subject_identities_type_0.append(subject_identities_type_0_item)

                return subject_identities_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[SubjectIdentity] | None | Unset, data)

        subject_identities = _parse_subject_identities(d.pop("subject_identities", UNSET))


        partner_callback = cls(
            request_status=request_status,
            subject_request_id=subject_request_id,
            result=result,
            subject_identities=subject_identities,
        )


        partner_callback.additional_properties = d
        return partner_callback

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
