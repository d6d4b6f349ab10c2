from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.agent_channel import AgentChannel
from ..models.identity_method import IdentityMethod
from ..models.language import Language
from ..types import UNSET, Unset
from typing import cast
from typing import Literal, cast

if TYPE_CHECKING:
  from ..models.no_details import NoDetails





T = TypeVar("T", bound="AccessCreate")



@_attrs_define
class AccessCreate:
    """ 
        Attributes:
            type_ (Literal['access']):
            channel (AgentChannel | None | Unset): how an agent received the request (required for agents)
            customer_number (None | str | Unset): required for agents; a portal token's own is used
            details (NoDetails | Unset):
            identity_verification (IdentityMethod | None | Unset): how identity was checked; absent = not yet verified (the
                request waits in awaiting_verification)
            language (Language | None | Unset): the answer's language; sv when absent
     """

    type_: Literal['access']
    channel: AgentChannel | None | Unset = UNSET
    customer_number: None | str | Unset = UNSET
    details: NoDetails | Unset = UNSET
    identity_verification: IdentityMethod | None | Unset = UNSET
    language: Language | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.no_details import NoDetails # noqa: PLC0415
        type_ = self.type_

        channel: None | str | Unset
        if isinstance(self.channel, Unset):
            channel = UNSET
        elif isinstance(self.channel, AgentChannel):
            channel = self.channel.value
        else:
            channel = self.channel

        customer_number: None | str | Unset
        if isinstance(self.customer_number, Unset):
            customer_number = UNSET
        else:
            customer_number = self.customer_number

        details: dict[str, Any] | Unset = UNSET
        if not isinstance(self.details, Unset):
            details = self.details.to_dict()

        identity_verification: None | str | Unset
        if isinstance(self.identity_verification, Unset):
            identity_verification = UNSET
        elif isinstance(self.identity_verification, IdentityMethod):
            identity_verification = self.identity_verification.value
        else:
            identity_verification = self.identity_verification

        language: None | str | Unset
        if isinstance(self.language, Unset):
            language = UNSET
        elif isinstance(self.language, Language):
            language = self.language.value
        else:
            language = self.language


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "type": type_,
        })
        if channel is not UNSET:
            field_dict["channel"] = channel
        if customer_number is not UNSET:
            field_dict["customer_number"] = customer_number
        if details is not UNSET:
            field_dict["details"] = details
        if identity_verification is not UNSET:
            field_dict["identity_verification"] = identity_verification
        if language is not UNSET:
            field_dict["language"] = language

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.no_details import NoDetails # noqa: PLC0415
        d = dict(src_dict)
        type_ = cast(Literal['access'] , d.pop("type"))
        if type_ != 'access':
            raise ValueError(f"type must match const 'access', got '{type_}'")

        def _parse_channel(data: object) -> AgentChannel | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                channel_type_0 = AgentChannel(data)



                return channel_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AgentChannel | None | Unset, data)

        channel = _parse_channel(d.pop("channel", UNSET))


        def _parse_customer_number(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        customer_number = _parse_customer_number(d.pop("customer_number", UNSET))


        _details = d.pop("details", UNSET)
        details: NoDetails | Unset
        if isinstance(_details,  Unset):
            details = UNSET
        else:
            details = NoDetails.from_dict(_details)




        def _parse_identity_verification(data: object) -> IdentityMethod | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                identity_verification_type_0 = IdentityMethod(data)



                return identity_verification_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(IdentityMethod | None | Unset, data)

        identity_verification = _parse_identity_verification(d.pop("identity_verification", UNSET))


        def _parse_language(data: object) -> Language | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                language_type_0 = Language(data)



                return language_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Language | None | Unset, data)

        language = _parse_language(d.pop("language", UNSET))


        access_create = cls(
            type_=type_,
            channel=channel,
            customer_number=customer_number,
            details=details,
            identity_verification=identity_verification,
            language=language,
        )

        return access_create

