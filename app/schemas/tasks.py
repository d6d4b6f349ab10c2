"""The work a request sends to each system: the task as answered, and an agent's completion."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from app.models import TaskAction, TaskStatus
from app.partners import System, register
from app.schemas.common import Note, Sparse, Strict, examples


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


TASK_EXAMPLE: dict[str, Any] = {
    "id": "9a3c2d1e-5b6f-4a7b-8c9d-0e1f2a3b4c5d", "system": register().name, "action": "erase",
    "status": "retained", "scheduled_for": None, "attempts": 1, "dispatch_round": 0,
    "outcome": {"summary": "Customer card anonymised; 3 invoices kept.",
                "retained": [{"category": "invoices",
                              "basis": "Bokföringslagen (1999:1078) 7 kap. 2 §",
                              "until": "2033-12-31"}]},
    "last_error": None, "updated_at": "2026-11-29T10:00:01Z",
}


class TaskOut(BaseModel):
    model_config = examples(TASK_EXAMPLE)

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


class RetainedIn(Strict):
    category: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    basis: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    until: date | None = Field(default=None, description="the last day it is kept (its "
                               "erasure runs the day after), from the day the request was "
                               "received up to 2100-12-31 (another date is a 422); null while "
                               "a contract is in force")


class CompleteTaskBody(Strict):
    model_config = examples(
        {"outcome": "done",
         "note": "The installation company confirmed the order record is deleted"},
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
