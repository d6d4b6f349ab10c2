"""API payloads, kept apart from the tables.

A create body is a union discriminated by ``type``, so each kind of request validates its own
``details`` and a mistake is reported at the exact field (``rectification.details.changes``).
Every body refuses text the database cannot store (NUL characters) with a 422 at the field, and
every schema carries examples, so a client generated from the OpenAPI document shows them.
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
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.auth import CUSTOMER_NUMBER_PATTERN
from app.connectors.catalog import KNOWN_OPERATORS, RECTIFIABLE_FIELDS, known_operator
from app.errors import PROBLEM_BASE, problem_types
from app.models import (
    Channel,
    EventAction,
    Language,
    RejectReason,
    RequestStatus,
    RequestType,
    System,
    TaskAction,
    TaskStatus,
)

CustomerNumber = Annotated[
    str, StringConstraints(pattern=CUSTOMER_NUMBER_PATTERN, max_length=16),
    Field(examples=["C-1001"], description="Connect2IP customer number"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
_POSTAL = re.compile(r"^\d{3} ?\d{2}$")


def _storable(value: Any) -> bool:
    """No NUL anywhere in a string, key or nested value (PostgreSQL cannot store one), and no
    string that is blanks only."""
    if isinstance(value, str):
        return "\x00" not in value and not value.isspace()
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_storable(item) for item in value)
    if isinstance(value, BaseModel):
        return all(_storable(getattr(value, name)) for name in type(value).model_fields)
    return True


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model's examples, shown in the OpenAPI document and the generated clients."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


# Text a body accepts: something other than blanks, and no NUL anywhere.
TEXT_PATTERN = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"


def _document_no_nul(prop: dict[str, Any]) -> None:
    """Say in the schema what :meth:`Strict._no_nul` enforces, so clients know it too."""
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "string" and not {"pattern", "format", "enum"} & set(option):
            option["pattern"] = TEXT_PATTERN
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            _document_no_nul(option["items"])


class Strict(BaseModel):
    """A request body: unknown fields are refused, and so is text the database cannot store."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _document_no_nul(prop)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if not _storable(value):
            raise ValueError("must not contain NUL characters or be blank")
        return value


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


def _absent_not_null(schema: dict[str, Any]) -> None:
    """In the schema of a :class:`Sparse` model an unset field is absent, never null."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        kinds = prop.get("anyOf")
        if isinstance(kinds, list) and {"type": "null"} in kinds:
            rest = [kind for kind in kinds if kind != {"type": "null"}]
            prop.pop("anyOf")
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})


class Sparse(BaseModel):
    """An answer whose fields apply to some cases only: those that do not are left out."""

    model_config = ConfigDict(json_schema_extra=_absent_not_null)

    # No return annotation: pydantic would document the annotation instead of the fields.
    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler):
        return {key: value for key, value in handler(self).items() if value is not None}


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
            raise ValueError("is not an operator in SNPAC's registry; one of "
                             + ", ".join(KNOWN_OPERATORS))
        return known


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


NotificationEvent = Literal[
    "request.received", "request.verified", "request.extended", "request.completed",
    "request.rejected", "request.cancelled", "request.action_required",
    "restriction.lift_notice",
]


class NotificationOut(BaseModel):
    """One portal notification and how its delivery went."""

    model_config = examples({
        "id": "0b6f0d0e-8d5c-4d8e-9a51-6c1f8f0c2b7e", "event": "request.completed",
        "status": "delivered", "attempts": 1, "created_at": "2026-11-29T10:00:02Z",
        "next_attempt_at": None, "delivered_at": "2026-11-29T10:00:03Z", "last_error": None,
        "payload": {"request_id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e",
                    "status": "completed"}})

    id: uuid.UUID
    event: NotificationEvent
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


class RetainedOut(BaseModel):
    """Something a system keeps, why, and until when."""

    model_config = ConfigDict(extra="allow")

    category: str
    basis: str = Field(description="the legal basis for keeping it")
    until: str | None = Field(
        default=None, description="YYYY-MM-DD, the last day it is kept (its erasure runs the "
        "day after); null while a contract is in force")
    code: str | None = Field(default=None, description="what is kept, as a code (e.g. invoices)")
    basis_code: str | None = Field(
        default=None, description="the privacy policy's legal basis (e.g. bookkeeping)")

    @model_serializer(mode="wrap")
    def _without_absent_codes(self, handler: SerializerFunctionWrapHandler):
        return {key: value for key, value in handler(self).items()
                if value is not None or key not in ("code", "basis_code")}


class TaskOutcome(Sparse):
    """What a system answered, without personal data."""

    model_config = ConfigDict(extra="allow")

    summary: str = ""
    code: str | None = Field(
        default=None, description="the outcome as a code the answer words in its language")
    params: dict[str, Any] | None = Field(default=None, description="the code's values")
    retained: list[RetainedOut] | None = Field(
        default=None, description="what is kept (status retained)")
    data_categories: list[str] | None = Field(
        default=None, description="categories of data the system returned (access, "
        "portability); the data itself is in the response package")
    uncertain: bool | None = Field(
        default=None, description="true when an attempt may have reached the partner but "
        "whether it was applied is not known")


_TASK_EXAMPLE: dict[str, Any] = {
    "id": "9a3c2d1e-5b6f-4a7b-8c9d-0e1f2a3b4c5d", "system": "fortnox", "action": "erase",
    "status": "retained", "scheduled_for": None, "attempts": 1, "dispatch_round": 0,
    "outcome": {"summary": "Customer card anonymised; 3 invoices kept.",
                "retained": [{"category": "invoices",
                              "basis": "Bokföringslagen (1999:1078) 7 kap. 2 §",
                              "until": "2033-12-31"}]},
    "last_error": None, "updated_at": "2026-11-29T10:00:01Z",
}


class TaskOut(BaseModel):
    model_config = examples(_TASK_EXAMPLE)

    id: uuid.UUID
    system: System
    action: TaskAction
    status: TaskStatus
    scheduled_for: datetime | None = Field(
        default=None, description="for scheduled work (e.g. a deferred erasure): when it is "
        "due; the worker carries it out then")
    attempts: int
    dispatch_round: int = Field(
        default=0, description="0 at first; +1 each time an agent retries the task after a "
        "failure (the partner then sees a new id, `<task id>.<round>`)")
    outcome: TaskOutcome | None = None
    last_error: str | None = None
    updated_at: datetime


class ResponseInfo(BaseModel):
    """The response package given for a finished request; kept after the file is purged."""

    sha256: str = Field(description="SHA-256 (hex) of the zip the customer received")
    size: int = Field(description="size of the zip in bytes")
    created_at: datetime
    expires_at: datetime = Field(description="when the package is deleted")
    purged_at: datetime | None = Field(default=None, description="when it was deleted")


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
    "finished_at": "2026-11-29T10:00:02Z", "tasks": [_TASK_EXAMPLE],
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


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: EventAction
    from_status: RequestStatus | None
    to_status: RequestStatus | None
    data: dict[str, Any]
    hash: str
    prev_hash: str


class EventsOut(BaseModel):
    model_config = examples({
        "request_id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e", "chain_intact": True,
        "events": [{"seq": 1, "at": "2026-11-29T10:00:00Z", "actor": "agent-anna",
                    "actor_role": "agent", "action": "created", "from_status": None,
                    "to_status": "awaiting_verification",
                    "data": {"type": "erasure", "channel": "phone"},
                    "hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    "prev_hash": "0" * 64}]})

    request_id: uuid.UUID
    chain_intact: bool = Field(description="whether every event's hash checks out")
    events: list[EventOut]


# -- problems ----------------------------------------------------------------------------------

PROBLEM_TYPE_URIS = tuple(PROBLEM_BASE + kind.slug for kind in problem_types())
PROBLEM_TYPES_TABLE = "\n".join(
    f"| {kind.status} | `{PROBLEM_BASE}{kind.slug}` | {kind.meaning} |"
    for kind in problem_types())


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="where: body/query/path/header, then field names (`*` for a name the API "
        "does not define, which is never echoed)")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. missing, string_too_long")


class Problem(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "description": "RFC 9457 problem details, as every error of this API is answered. "
                       "`type` is one of:\n\n| status | type | meaning |\n|---|---|---|\n"
                       + PROBLEM_TYPES_TABLE,
        "examples": [{"type": PROBLEM_BASE + "invalid-state",
                      "title": "Not allowed in the request's current status", "status": 409,
                      "detail": "Cannot extend a request that is completed."}]})

    type: str = Field(description="the problem type's URI",
                      json_schema_extra={"enum": list(PROBLEM_TYPE_URIS)})
    title: str
    status: int
    detail: str = Field(description="written for the caller; never echoes input")
    errors: list[FieldError] | None = Field(
        default=None, description="for validation problems: each offending field"
    )


_PROBLEM_TEXT = {
    400: "Malformed request: a body that is not UTF-8 JSON (`malformed-json`), or a cursor "
         "this service did not issue (`invalid-cursor`)",
    401: "Missing, expired or invalid bearer token",
    403: "The caller's role may not do this",
    404: "No such request (or not the caller's)",
    409: "Not allowed in the request's current status, or Idempotency-Key reused",
    413: "Request body too large",
    422: "Validation failed; `errors` lists the fields",
    431: "Request headers too large",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses of an operation; 431 (headers too large) goes with every one."""
    return {
        code: {
            "model": Problem, "description": _PROBLEM_TEXT[code],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in sorted({*codes, 431})
    }


class RetainedIn(Strict):
    category: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    basis: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    until: date | None = Field(default=None, description="the last day it is kept (its "
                               "erasure runs the day after), from the day the request was "
                               "received up to 2100-12-31 (another date is a 422); null while "
                               "a contract is in force")


class CompleteTaskBody(Strict):
    model_config = examples(
        {"outcome": "done", "note": "The installer confirmed the order record is deleted"},
        {"outcome": "retained", "note": "Warranty record kept",
         "retained": [{"category": "installation order", "basis": "Konsumentköplagen 23 §",
                       "until": "2029-11-29"}]})

    outcome: Literal[TaskStatus.done, TaskStatus.no_data, TaskStatus.retained]
    note: Note = Field(description="what was done (no personal data); for an objection's "
                       "assessment, the reasons for the decision, told to the customer")
    retained: list[RetainedIn] = Field(default_factory=list)
    decision: Literal["upheld", "overridden"] | None = Field(
        default=None, description="required for an objection's assessment (assess_objection): "
        "upheld = the processing stops; overridden = compelling legitimate grounds override "
        "the customer's interests (art. 21(1)), and it continues")
