"""The request bodies and the request as answered.

A create body is a union discriminated by ``type``, so each kind of request validates its own
``details`` and a mistake is reported at the exact field (``rectification.details.changes``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.models import Channel, Language, RejectReason, RequestStatus, RequestType
from app.schemas.answers import ResponseInfo
from app.schemas.common import CustomerNumber, Note, Sparse, Strict, examples
from app.schemas.details import (
    AgentChannel,
    IdentityMethod,
    NoDetails,
    ObjectionDetails,
    ObjectionProcessing,
    PortabilityDetails,
    PortabilityFormat,
    RectificationDetails,
    RestrictionDetails,
)
from app.schemas.tasks import TASK_EXAMPLE, TaskOut


class _CreateBase(Strict):
    customer_number: CustomerNumber | None = Field(
        default=None, description="required for agents; a portal token's own is used"
    )
    # No schema default: a generated client would make a field with a default required.
    language: Language | None = Field(
        default=None, validate_default=True,
        description="the answer's language; sv when absent")
    channel: AgentChannel | None = Field(
        default=None, description="how an agent received the request (required for agents)"
    )
    identity_verification: IdentityMethod | None = Field(
        default=None, description="how identity was checked; absent = not yet verified (the "
        "request waits in awaiting_verification)", examples=["bankid"],
    )

    @field_validator("language", mode="after")
    @classmethod
    def _swedish_by_default(cls, value: Language | None) -> Language:
        return value or Language.sv


class AccessCreate(_CreateBase):
    model_config = examples(
        {"type": "access", "language": "en"}
    )

    type: Literal[RequestType.access]
    details: NoDetails = Field(default_factory=NoDetails)


class ErasureCreate(_CreateBase):
    model_config = examples(
        {"type": "erasure", "customer_number": "C-1002", "channel": "phone"}
    )

    type: Literal[RequestType.erasure]
    details: NoDetails = Field(default_factory=NoDetails)


class RectificationCreate(_CreateBase):
    model_config = examples(
        {"type": "rectification", "details": {"changes": {"address": "Storgatan 1"}}}
    )

    type: Literal[RequestType.rectification]
    details: RectificationDetails


class RestrictionCreate(_CreateBase):
    model_config = examples(
        {"type": "restriction", "details": {"grounds": "accuracy_contested"}}
    )

    type: Literal[RequestType.restriction]
    details: RestrictionDetails


class ObjectionCreate(_CreateBase):
    model_config = examples(
        {"type": "objection", "details": {"processing": "direct_marketing"}}
    )

    type: Literal[RequestType.objection]
    details: ObjectionDetails


class PortabilityCreate(_CreateBase):
    model_config = examples(
        {"type": "portability",
         "details": {"formats": ["json", "csv"], "receiving_operator": "Telia"}}
    )

    type: Literal[RequestType.portability]
    details: PortabilityDetails = Field(default_factory=PortabilityDetails)


RequestCreate = Annotated[
    AccessCreate | ErasureCreate | RectificationCreate | RestrictionCreate | ObjectionCreate
    | PortabilityCreate,
    Field(discriminator="type"),
]


class VerifyBody(Strict):
    model_config = examples({"method": "bankid"})

    method: IdentityMethod = Field(description="how the customer's identity was checked")


class RejectBody(Strict):
    model_config = examples(
        {"reason": "manifestly_unfounded", "note": "Fifth identical request this week"})

    reason: RejectReason
    note: Note


class ExtendBody(Strict):
    model_config = examples({"months": 1, "reason": "Data held by several partners"})

    months: int = Field(ge=1, le=2, description="1 or 2; two further months at most in all")
    reason: Note = Field(description="told to the customer (art. 12(3))")


class CancelBody(Strict):
    model_config = examples({"note": "Withdrawn by the customer on the phone"})

    note: Note


class LiftBody(Strict):
    model_config = examples({"reason": "The address has been checked and corrected"})

    reason: Note = Field(description="why the restriction ends; told to the customer first")


class DetailsOut(Sparse):
    """A request's details as shown: a rectification names its fields, never the values."""

    changes: list[str] | None = Field(
        default=None, description="rectification: the fields corrected (values not echoed)")
    processing: ObjectionProcessing | None = None
    unlist: bool | None = Field(
        default=None, description="objection to direct marketing: the listing goes too")
    activity: str | None = Field(
        default=None, description="objection on legitimate interest: what is objected to")
    grounds: str | None = Field(
        default=None, description="restriction: an art. 18(1) ground, or retention_policy "
        "for the lock the privacy policy applies after a contract ends; objection on "
        "legitimate interest: the customer's grounds")
    formats: list[PortabilityFormat] | None = None
    receiving_operator: str | None = None


_REQUEST_EXAMPLE: dict[str, Any] = {
    "id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e", "type": "erasure", "status": "completed",
    "customer_number": "C-1002", "channel": "phone", "language": "sv", "details": {},
    "identity_verification": "bankid", "created_at": "2026-11-29T10:00:00Z",
    "received_at": "2026-11-29T10:00:00Z", "due_at": "2026-12-29T10:00:00Z",
    "overdue": False, "extended_months": 0, "extension_reason": None, "lift_reason": None,
    "reject_reason": None, "closing_as": None, "closing_requested_at": None,
    "finished_at": "2026-11-29T10:00:02Z", "tasks": [TASK_EXAMPLE],
    "response": {"sha256": "3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855a",
                 "size": 48213, "created_at": "2026-11-29T10:00:03Z",
                 "expires_at": "2026-12-29T10:00:03Z", "purged_at": None},
    "response_url": "/v1/requests/5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e/response",
}


class RequestOut(BaseModel):
    model_config = examples(_REQUEST_EXAMPLE)

    id: uuid.UUID
    type: RequestType
    status: RequestStatus
    customer_number: str
    channel: Channel
    language: Language
    details: DetailsOut = Field(
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
    model_config = examples({"items": [_REQUEST_EXAMPLE], "next_cursor": None})

    items: list[RequestOut]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last")
