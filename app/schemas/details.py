"""A request's ``details``, one model per kind of request, and the choices they offer."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from app.connectors.operators import KNOWN_OPERATORS, known_operator
from app.partners.partner import RECTIFIABLE_FIELDS
from app.schemas.common import ShortText, Strict, examples

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
_POSTAL = re.compile(r"^\d{3} ?\d{2}$")


class AgentChannel(StrEnum):
    phone = "phone"
    email = "email"
    letter = "letter"
    in_person = "in_person"


class IdentityMethod(StrEnum):
    """How a person's identity was checked (art. 12(6)): an electronic ID, an identity document
    seen by an agent, or in person at an office. Anything weaker is not a verification."""

    bankid = "bankid"
    freja_eid = "freja_eid"
    id_document = "id_document"
    in_person = "in_person"


class ObjectionProcessing(StrEnum):
    direct_marketing = "direct_marketing"
    legitimate_interest = "legitimate_interest"


class RestrictionGrounds(StrEnum):
    """GDPR art. 18(1) (a)-(d)."""

    accuracy_contested = "accuracy_contested"
    unlawful_processing = "unlawful_processing"
    no_longer_needed = "no_longer_needed"
    objection_pending = "objection_pending"


class PortabilityFormat(StrEnum):
    json = "json"
    csv = "csv"


class NoDetails(Strict):
    pass


Correction = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RectificationChanges(Strict):
    """The fields to correct and their new values (at least one)."""

    model_config = examples(
        {"address": "Storgatan 1"}
    )

    name: Correction | None = None
    address: Correction | None = None
    postal_code: Correction | None = Field(default=None, description="NNN NN")
    city: Correction | None = None
    email: Correction | None = None
    phone: Correction | None = None

    @model_validator(mode="after")
    def _checked(self) -> RectificationChanges:
        given = self.given()
        if not given:
            raise ValueError("must name at least one field to correct")
        checks = {"email": (_EMAIL, "an e-mail address"), "phone": (_PHONE, "a phone number"),
                  "postal_code": (_POSTAL, "a Swedish postal code (NNN NN)")}
        for name, (pattern, what) in checks.items():
            if name in given and not pattern.match(given[name]):
                raise ValueError(f"{name} must be {what}")
        return self

    def given(self) -> dict[str, str]:
        return {name: value for name in RECTIFIABLE_FIELDS
                if (value := getattr(self, name, None)) is not None}


class RectificationDetails(Strict):
    changes: RectificationChanges = Field(
        description=f"field → new value; fields: {', '.join(RECTIFIABLE_FIELDS)}")

    @field_serializer("changes")
    def _only_given(self, changes: RectificationChanges) -> dict[str, str]:
        return changes.given()


class ObjectionDetails(Strict):
    # What _by_processing checks, said in the schema so that clients (and fuzzers) know it.
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"processing": "direct_marketing", "unlist": True},
                     {"processing": "legitimate_interest", "activity": "Analys av min "
                      "trafikdata", "grounds": "Jag vill inte att mina samtal analyseras"}],
        "if": {"properties": {"processing": {"const": "legitimate_interest"}}},
        "then": {"required": ["activity", "grounds"],
                 "properties": {"unlist": {"const": False}}},
        "else": {"properties": {"activity": {"type": "null"}, "grounds": {"type": "null"}}},
    })

    processing: ObjectionProcessing
    unlist: bool = Field(
        default=False, description="direct marketing: also remove the listing in the "
        "directory; a separate choice, never implied by the objection")
    activity: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=500)] | None = Field(
        default=None, description="legitimate interest: which processing the customer objects "
        "to, in their words (required then)", examples=["Analys av min trafikdata"])
    grounds: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=2000)] | None = Field(
        default=None, description="legitimate interest: why, from the customer's particular "
        "situation (art. 21(1)); required then", examples=["Jag vill inte att mina samtal "
                                                          "analyseras"])

    @model_validator(mode="after")
    def _by_processing(self) -> ObjectionDetails:
        if self.processing is ObjectionProcessing.legitimate_interest:
            if not self.activity or not self.grounds:
                raise ValueError("an objection to processing on legitimate interest needs "
                                 "the activity objected to and the grounds")
            if self.unlist:
                raise ValueError("unlist applies to an objection to direct marketing")
        elif self.activity or self.grounds:
            raise ValueError("activity and grounds apply to an objection on legitimate interest")
        return self


class RestrictionDetails(Strict):
    grounds: RestrictionGrounds


class PortabilityDetails(Strict):
    formats: list[PortabilityFormat] = Field(
        default_factory=lambda: [PortabilityFormat.json, PortabilityFormat.csv], min_length=1
    )
    receiving_operator: ShortText | None = Field(
        default=None, description="the operator the phone number is to be ported to, one of "
        "the number-portability registry's: " + ", ".join(KNOWN_OPERATORS) + ". In Sweden "
        "the receiving operator starts a port; this authorises it.", examples=["Telia"],
        # The registry's names (the service also takes them in any case).
        json_schema_extra={"anyOf": [{"type": "string", "enum": list(KNOWN_OPERATORS)},
                                     {"type": "null"}]},
    )

    @field_validator("receiving_operator")
    @classmethod
    def _known_operator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = known_operator(value)
        if known is None:
            raise ValueError("is not an operator in the number-portability registry; one of "
                             + ", ".join(KNOWN_OPERATORS))
        return known
