"""API payloads, kept apart from the tables.

A create body is a union discriminated by ``type``, so each kind of request validates its own
``details`` and a mistake is reported at the exact field (``rectification.details.changes``).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.auth import CUSTOMER_NUMBER_PATTERN
from app.connectors.catalog import KNOWN_OPERATORS, RECTIFIABLE_FIELDS, known_operator
from app.models import Channel, Language, RejectReason, RequestStatus, RequestType, TaskStatus

CustomerNumber = Annotated[
    str, StringConstraints(pattern=CUSTOMER_NUMBER_PATTERN, max_length=16),
    Field(examples=["C-1001"], description="Connect2IP customer number"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
_POSTAL = re.compile(r"^\d{3} ?\d{2}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class RectificationDetails(Strict):
    changes: dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                        max_length=200)]] = Field(
        description=f"field → new value; fields: {', '.join(RECTIFIABLE_FIELDS)}",
        examples=[{"email": "new@example.se"}],
    )

    @field_validator("changes")
    @classmethod
    def _known_fields(cls, changes: dict[str, str]) -> dict[str, str]:
        if not changes:
            raise ValueError("must name at least one field to correct")
        unknown = sorted(set(changes) - set(RECTIFIABLE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(RECTIFIABLE_FIELDS)}"
            )
        checks = {"email": (_EMAIL, "an e-mail address"), "phone": (_PHONE, "a phone number"),
                  "postal_code": (_POSTAL, "a Swedish postal code (NNN NN)")}
        for name, (pattern, what) in checks.items():
            if name in changes and not pattern.match(changes[name]):
                raise ValueError(f"{name} must be {what}")
        return changes


class ObjectionDetails(Strict):
    processing: ObjectionProcessing
    unlist: bool = Field(
        default=False, description="direct marketing: also remove the directory listing "
        "(Eniro/Hitta); a separate choice, never implied by the objection")
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
        "SNPAC's registry: " + ", ".join(KNOWN_OPERATORS) + ". In Sweden the receiving "
        "operator starts a port; this authorises it.", examples=["Telia"],
    )

    @field_validator("receiving_operator")
    @classmethod
    def _known_operator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = known_operator(value)
        if known is None:
            raise ValueError("is not an operator in SNPAC's registry; one of "
                             + ", ".join(KNOWN_OPERATORS))
        return known


class _CreateBase(Strict):
    customer_number: CustomerNumber | None = Field(
        default=None, description="required for agents; a portal token's own is used"
    )
    language: Language = Language.sv
    channel: AgentChannel | None = Field(
        default=None, description="how an agent received the request (required for agents)"
    )
    identity_verification: IdentityMethod | None = Field(
        default=None, description="how identity was checked; absent = not yet verified (the "
        "request waits in awaiting_verification)", examples=["bankid"],
    )


class AccessCreate(_CreateBase):
    type: Literal[RequestType.access]
    details: NoDetails = Field(default_factory=NoDetails)


class ErasureCreate(_CreateBase):
    type: Literal[RequestType.erasure]
    details: NoDetails = Field(default_factory=NoDetails)


class RectificationCreate(_CreateBase):
    type: Literal[RequestType.rectification]
    details: RectificationDetails


class RestrictionCreate(_CreateBase):
    type: Literal[RequestType.restriction]
    details: RestrictionDetails


class ObjectionCreate(_CreateBase):
    type: Literal[RequestType.objection]
    details: ObjectionDetails


class PortabilityCreate(_CreateBase):
    type: Literal[RequestType.portability]
    details: PortabilityDetails = Field(default_factory=PortabilityDetails)


RequestCreate = Annotated[
    AccessCreate | ErasureCreate | RectificationCreate | RestrictionCreate | ObjectionCreate
    | PortabilityCreate,
    Field(discriminator="type"),
]


class VerifyBody(Strict):
    method: IdentityMethod = Field(examples=["bankid"])


class RejectBody(Strict):
    reason: RejectReason
    note: Note


class ExtendBody(Strict):
    months: Literal[1, 2]
    reason: Note


class CancelBody(Strict):
    note: Note


class LiftBody(Strict):
    reason: Note = Field(description="why the restriction ends; told to the customer first")


class NotificationOut(BaseModel):
    """One portal notification and how its delivery went."""

    id: uuid.UUID
    event: str = Field(examples=["request.completed"])
    status: Literal["pending", "delivered", "failed"] = Field(
        description="failed: never acknowledged within the delivery window; an agent must act")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    payload: dict[str, Any] = Field(description="what was sent: ids, statuses, dates only")


class NotificationsOut(BaseModel):
    request_id: uuid.UUID
    items: list[NotificationOut]


class TaskOut(BaseModel):
    id: uuid.UUID
    system: str
    action: str
    status: TaskStatus
    scheduled_for: datetime | None = Field(
        default=None, description="for scheduled work (e.g. a deferred erasure): when it is "
        "due; the worker carries it out then")
    attempts: int
    dispatch_round: int = Field(
        default=0, description="0 at first; +1 each time an agent retries the task after a "
        "failure (the partner then sees a new id, `<task id>.<round>`)")
    outcome: dict[str, Any] | None = None
    last_error: str | None = None
    updated_at: datetime


class ResponseInfo(BaseModel):
    """The response package given for a finished request; kept after the file is purged."""

    sha256: str = Field(description="SHA-256 (hex) of the zip the customer received")
    size: int = Field(description="size of the zip in bytes")
    created_at: datetime
    expires_at: datetime = Field(description="when the package is deleted")
    purged_at: datetime | None = Field(default=None, description="when it was deleted")


class RequestOut(BaseModel):
    id: uuid.UUID
    type: RequestType
    status: RequestStatus
    customer_number: str
    channel: Channel
    language: Language
    details: dict[str, Any] = Field(
        description="the request's details; a rectification's new values are not echoed"
    )
    identity_verification: str | None
    created_at: datetime
    received_at: datetime
    due_at: datetime
    overdue: bool
    extended_months: int
    extension_reason: str | None = Field(
        default=None, description="why the deadline was extended (told to the customer, "
        "art. 12(3))")
    lift_reason: str | None = Field(
        default=None, description="why a restriction was lifted (art. 18(3))")
    reject_reason: RejectReason | None = None
    closing_as: Literal[RequestStatus.rejected, RequestStatus.cancelled] | None = Field(
        default=None,
        description="set while a reject or cancel waits for work already sent to partners: "
        "those tasks are followed to their real outcome, then the request takes this status "
        "(it stays in_progress meanwhile and accepts no other action)")
    closing_requested_at: datetime | None = None
    finished_at: datetime | None = None
    tasks: list[TaskOut]
    response: ResponseInfo | None = Field(
        default=None, description="the response package, once built (also after it is purged)"
    )
    response_url: str | None = Field(
        default=None, description="where to download the response, while it is available"
    )


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None = None


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]
    hash: str
    prev_hash: str


class EventsOut(BaseModel):
    request_id: uuid.UUID
    chain_intact: bool = Field(description="whether every event's hash checks out")
    events: list[EventOut]


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for validation problems: each offending field's loc and msg"
    )


_PROBLEM_TEXT = {
    400: "Malformed request (bad JSON or cursor)",
    401: "Missing, expired or invalid bearer token",
    403: "The caller's role may not do this",
    404: "No such request (or not the caller's)",
    409: "Not allowed in the request's current status, or Idempotency-Key reused",
    413: "Request body too large",
    422: "Validation failed; `errors` lists the fields",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": Problem, "description": _PROBLEM_TEXT[code],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in codes
    }


class RetainedIn(Strict):
    category: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    basis: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    until: date | None = Field(default=None, description="when it will be erased; null while a "
                               "contract is in force")


class CompleteTaskBody(Strict):
    outcome: Literal[TaskStatus.done, TaskStatus.no_data, TaskStatus.retained]
    note: Note = Field(description="what was done (no personal data); for an objection's "
                       "assessment, the reasons for the decision, told to the customer")
    retained: list[RetainedIn] = Field(default_factory=list)
    decision: Literal["upheld", "overridden"] | None = Field(
        default=None, description="required for an objection's assessment (assess_objection): "
        "upheld = the processing stops; overridden = compelling legitimate grounds override "
        "the customer's interests (art. 21(1)), and it continues")
