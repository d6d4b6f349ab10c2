"""The calls the service makes, and the callbacks it takes, as schemas in the OpenAPI document.

A partner or the portal backend reads its side of the protocol here, without the code: the
OpenDSR-style request the service sends each asynchronous partner (``partnerRequest``), the
signed callback the partner sends back to ``POST /v1/webhooks/{system}`` (``PartnerCallback``),
and the signed notification the portal backend receives (``portalNotification``). The
connectors (``app.connectors.opendsr``) and the notifier (``app.notifications.delivery``) are what
actually speak it; ``docs/partners.md`` tells the same in prose, and tests check that the
sandbox's callbacks and the notifier's bodies validate against these models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field

from app.partners import PORTING, callback_systems, with_role
from app.schemas import NotificationEvent, examples

_REF = "3f0c2a4e-9b1d-4c6e-8f7a-2b5d9e1c0a3f"
_SIGNED_HEADERS = """Signed per Standard Webhooks with the receiver's `whsec_` secret:
`webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`
keyed with the base64-decoded part after `whsec_`; several signatures separated by spaces
while a secret is rotated. A timestamp more than 5 minutes from the receiver's clock is
refused."""

# The three Standard Webhooks headers: (description, example, JSON schema of the value).
SIGNED_HEADERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "webhook-id": ("unique per message, the same on every delivery attempt of it (the "
                   "receiver applies it once)", "msg_2f9a1c",
                   {"type": "string", "minLength": 1, "maxLength": 255}),
    "webhook-timestamp": ("Unix seconds when this attempt was signed", "1764410400",
                          {"type": "string", "pattern": "^[0-9]{1,12}$"}),
    "webhook-signature": ("`v1,<base64 signature>`, space-separated when there are several",
                          "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                          {"type": "string", "minLength": 1, "maxLength": 1024}),
}


def signed_header_parameters() -> list[dict[str, Any]]:
    """The headers as OpenAPI parameters (for an operation that reads them raw)."""
    return [{"name": name, "in": "header", "required": True, "description": description,
             "schema": schema, "example": example}
            for name, (description, example, schema) in SIGNED_HEADERS.items()]


def _header(name: str) -> Any:
    description, example, schema = SIGNED_HEADERS[name]
    return Header(alias=name, description=description, examples=[example],
                  max_length=schema.get("maxLength"), pattern=schema.get("pattern"))


WebhookId = Annotated[str, _header("webhook-id")]
WebhookTimestamp = Annotated[str, _header("webhook-timestamp")]
WebhookSignature = Annotated[str, _header("webhook-signature")]


class SubjectIdentity(BaseModel):
    identity_type: Literal["controller_customer_id"] = "controller_customer_id"
    identity_value: str = Field(description="the pseudonymous link for this partner only "
                                "(service ID, phone number, listing ID)")
    identity_format: Literal["raw"] = "raw"


class PartnerRetained(BaseModel):
    category: str
    basis: str = Field(description="the legal basis for keeping it")
    until: date | None = Field(
        default=None, description="the last day it is kept, from the day the request was "
        "received up to 2100-12-31 (another date fails the task); null while a contract is "
        "in force")


class PartnerResult(BaseModel):
    outcome: Literal["done", "no_data", "retained", "refused"]
    summary: str | None = Field(default=None, description="what was done, no personal data")
    data: dict[str, Any] | None = Field(default=None, description="access, portability only")
    retained: list[PartnerRetained] | None = Field(
        default=None, description="required (non-empty) for outcome retained")
    reason: str | None = Field(default=None, description="for outcome refused")


class PartnerCallback(BaseModel):
    """What an asynchronous partner posts to ``/v1/webhooks/{system}`` (and answers to
    ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
    nothing; ``completed`` must carry ``result`` and name the subject as it was sent."""

    model_config = examples({
        "subject_request_id": _REF, "request_status": "completed",
        "subject_identities": [{"identity_type": "controller_customer_id",
                                "identity_value": "SN-440017", "identity_format": "raw"}],
        "result": {"outcome": "retained", "summary": "History erased; the active "
                   "connection's address is kept",
                   "retained": [{"category": "connection address",
                                 "basis": "GDPR art. 6(1)(b), contract in force",
                                 "until": None}]}})

    subject_request_id: str = Field(
        max_length=64, description="the partner ref the request was sent with: the task id, "
        "or `<task id>.<round>` after an agent's retry")
    request_status: Literal["pending", "in_progress", "completed", "cancelled"]
    subject_identities: list[SubjectIdentity] | None = None
    result: PartnerResult | None = None


# The partner that books number ports, named where its extension is documented.
_PORTER = with_role(PORTING)


class Extensions(BaseModel):
    rectification: dict[str, dict[str, str]] | None = Field(
        default=None, description='`{"changes": {field: new value}}`, only fields this '
        "partner holds")
    restriction: dict[str, Any] | None = Field(
        default=None, description='`{"grounds": "..."}`, or `{"lift": true}` to lift it')
    objection: dict[str, str] | None = Field(
        default=None, description='`{"processing": "direct_marketing"}`')
    number_porting: dict[str, str] | None = Field(
        default=None, description='`{"receiving_operator": "..."}` '
        f"({_PORTER.name if _PORTER else 'the number-portability registry'})")


class PartnerRequest(BaseModel):
    model_config = examples({
        "subject_request_id": _REF, "subject_request_type": "erasure",
        "submitted_time": "2026-11-29T10:00:00Z",
        "subject_identities": [{"identity_type": "controller_customer_id",
                                "identity_value": "SN-440017", "identity_format": "raw"}],
        "status_callback_urls": [
            f"https://dsr.connect2ip.se/v1/webhooks/{callback_systems()[0]}"]})

    subject_request_id: str = Field(max_length=64)
    subject_request_type: Literal["access", "erasure", "portability", "rectification",
                                  "restriction", "objection"]
    submitted_time: datetime
    subject_identities: list[SubjectIdentity] = Field(min_length=1, max_length=1)
    status_callback_urls: list[str] = Field(
        description="`{DSR_PUBLIC_URL}/v1/webhooks/{system}`: where to post the result")
    extensions: Extensions | None = None


class PartnerAck(BaseModel):
    model_config = ConfigDict(extra="allow")

    subject_request_id: str
    request_status: Literal["pending", "in_progress", "completed", "cancelled"]
    controller_id: str | None = None
    received_time: datetime | None = None
    expected_completion_time: datetime | None = None


class NotificationData(BaseModel):
    """Ids, statuses and dates only; never personal data."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    customer_number: str
    request_type: str
    status: str
    due_at: str | None = Field(default=None, description="request.received, .extended")
    extended_months: int | None = Field(
        default=None, description="request.extended: the months added in all (1 or 2); the "
        "letter with the reason is at notice_url")
    notice_url: str | None = Field(
        default=None, description="request.extended: path of the extension letter (HTML), "
        "on this service")
    notice_period_s: float | None = Field(
        default=None, description="restriction.lift_notice: how long after delivery of this "
        "notice the first system may lift the restriction")
    lift_from: str | None = Field(
        default=None, description="restriction.lift_notice: the earliest moment the lift may "
        "start (a lower bound: the period counts from delivery)")
    response_url: str | None = Field(
        default=None, description="request.completed: path of the download, on this service")


class PortalNotification(BaseModel):
    model_config = examples({
        "type": "request.completed", "timestamp": "2026-11-29T10:00:02Z",
        "data": {"request_id": "5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e",
                 "customer_number": "C-1001", "request_type": "access", "status": "completed",
                 "response_url": "/v1/requests/5f1c3f9e-2b7d-4d3a-9a6e-0c9b8b7a6d5e/response"}})

    type: NotificationEvent
    timestamp: datetime
    data: NotificationData


def document(app: FastAPI) -> None:
    """Add the outgoing calls to the app's OpenAPI ``webhooks``: never routes, only schemas."""

    @app.webhooks.post(
        "partnerRequest", status_code=202, response_model=PartnerAck,
        operation_id="partnerRequest", tags=["partner protocol"],
        summary="The service hands a request to an asynchronous partner",
        description="`POST {DSR_<SYSTEM>_URL}/requests`, with `Authorization: Bearer "
        "{DSR_<SYSTEM>_API_KEY}` when one is set. The partner applies one "
        "`subject_request_id` (and `Idempotency-Key`) once, answering a repeat with the first "
        "answer, then posts a signed `PartnerCallback` to `status_callback_urls`. Timeouts, "
        "429 (with `Retry-After`) and 5xx are retried; any other 4xx fails the task. "
        "`GET {url}/requests/{subject_request_id}` must answer the same body as the callback "
        "(404 if the request never arrived): the service asks when no callback came.",
        responses={400: {"description": "An invalid body: the task fails with the reason"}},
    )
    async def partner_request(
        body: PartnerRequest,
        idempotency_key: Annotated[str, Header(
            alias="Idempotency-Key", description="the partner ref, as subject_request_id")],
    ) -> None:
        """Documentation only."""

    @app.webhooks.post(
        "portalNotification", operation_id="portalNotification", tags=["partner protocol"],
        summary="The service tells the portal backend that a request changed",
        description="`POST {DSR_PORTAL_WEBHOOK_URL}`. " + _SIGNED_HEADERS + " Any 2xx is "
        "delivered; anything else or no answer in time is retried with backoff for at least "
        "3 days, in order per request, with the same `webhook-id`.",
        responses={200: {"description": "Delivered (any 2xx)"}},
    )
    async def portal_notification(
        body: PortalNotification, webhook_id: WebhookId, webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """Documentation only."""
