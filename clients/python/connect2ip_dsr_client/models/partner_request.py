from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.partner_request_subject_request_type import PartnerRequestSubjectRequestType
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.extensions import Extensions
  from ..models.subject_identity import SubjectIdentity





T = TypeVar("T", bound="PartnerRequest")



@_attrs_define
class PartnerRequest:
    """ 
        Attributes:
            status_callback_urls (list[str]): `{DSR_PUBLIC_URL}/v1/webhooks/{system}`: where to post the result
            subject_identities (list[SubjectIdentity]):
            subject_request_id (str):
            subject_request_type (PartnerRequestSubjectRequestType):
            submitted_time (datetime.datetime):
            extensions (Extensions | None | Unset):
     """

    status_callback_urls: list[str]
    subject_identities: list[SubjectIdentity]
    subject_request_id: str
    subject_request_type: PartnerRequestSubjectRequestType
    submitted_time: datetime.datetime
    extensions: Extensions | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.extensions import Extensions # noqa: PLC0415
        from ..models.subject_identity import SubjectIdentity # noqa: PLC0415
        status_callback_urls = self.status_callback_urls



        subject_identities = []
        for subject_identities_item_data in self.subject_identities:
            subject_identities_item = subject_identities_item_data.to_dict()
            subject_identities.append(subject_identities_item)



        subject_request_id = self.subject_request_id

        subject_request_type = self.subject_request_type.value

        submitted_time = self.submitted_time.isoformat()

        extensions: dict[str, Any] | None | Unset
        if isinstance(self.extensions, Unset):
            extensions = UNSET
        elif isinstance(self.extensions, Extensions):
            extensions = self.extensions.to_dict()
        else:
            extensions = self.extensions


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status_callback_urls": status_callback_urls,
            "subject_identities": subject_identities,
            "subject_request_id": subject_request_id,
            "subject_request_type": subject_request_type,
            "submitted_time": submitted_time,
        })
        if extensions is not UNSET:
            field_dict["extensions"] = extensions

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.extensions import Extensions # noqa: PLC0415
        from ..models.subject_identity import SubjectIdentity # noqa: PLC0415
        d = dict(src_dict)
        status_callback_urls = cast(list[str], d.pop("status_callback_urls"))


        subject_identities = []
        _subject_identities = d.pop("subject_identities")
        for subject_identities_item_data in (_subject_identities):
            subject_identities_item = SubjectIdentity.from_dict(subject_identities_item_data)



            subject_identities.append(subject_identities_item)


        subject_request_id = d.pop("subject_request_id")

        subject_request_type = PartnerRequestSubjectRequestType(d.pop("subject_request_type"))




        submitted_time = datetime.datetime.fromisoformat(d.pop("submitted_time"))




        def _parse_extensions(data: object) -> Extensions | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                extensions_type_0 = Extensions.from_dict(data)



                return extensions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Extensions | None | Unset, data)

        extensions = _parse_extensions(d.pop("extensions", UNSET))


        partner_request = cls(
            status_callback_urls=status_callback_urls,
            subject_identities=subject_identities,
            subject_request_id=subject_request_id,
            subject_request_type=subject_request_type,
            submitted_time=submitted_time,
            extensions=extensions,
        )


        partner_request.additional_properties = d
        return partner_request

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
