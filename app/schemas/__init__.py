"""API payloads, kept apart from the tables, one module per subject.

``common`` holds the base models every body and answer shares; ``details`` a request's
``details`` per kind; ``requests`` the request bodies and the request as answered; ``tasks``,
``answers``, ``notifications`` and ``events`` what a request carries; ``problems`` the error
answers. Everything is importable from here, as ``from app.schemas import RequestOut``.
"""

from app.schemas.answers import ResponseInfo
from app.schemas.common import (
    TEXT_PATTERN,
    CustomerNumber,
    Note,
    ShortText,
    Sparse,
    Strict,
    examples,
)
from app.schemas.details import (
    AgentChannel,
    Correction,
    IdentityMethod,
    NoDetails,
    ObjectionDetails,
    ObjectionProcessing,
    PortabilityDetails,
    PortabilityFormat,
    RectificationChanges,
    RectificationDetails,
    RestrictionDetails,
    RestrictionGrounds,
)
from app.schemas.events import EventOut, EventsOut
from app.schemas.notifications import NotificationEvent, NotificationOut, NotificationsOut
from app.schemas.problems import (
    PROBLEM_TYPE_URIS,
    PROBLEM_TYPES_TABLE,
    FieldError,
    Problem,
    problem_responses,
)
from app.schemas.requests import (
    AccessCreate,
    CancelBody,
    DetailsOut,
    ErasureCreate,
    ExtendBody,
    LiftBody,
    ObjectionCreate,
    PortabilityCreate,
    RectificationCreate,
    RejectBody,
    RequestCreate,
    RequestOut,
    RequestPage,
    RestrictionCreate,
    VerifyBody,
)
from app.schemas.tasks import (
    TASK_EXAMPLE,
    CompleteTaskBody,
    RetainedIn,
    RetainedOut,
    TaskOut,
    TaskOutcome,
)

__all__ = [
    "PROBLEM_TYPES_TABLE", "PROBLEM_TYPE_URIS", "TASK_EXAMPLE", "TEXT_PATTERN", "AccessCreate",
    "AgentChannel", "CancelBody", "CompleteTaskBody", "Correction", "CustomerNumber",
    "DetailsOut", "ErasureCreate", "EventOut", "EventsOut", "ExtendBody", "FieldError",
    "IdentityMethod", "LiftBody", "NoDetails", "Note", "NotificationEvent", "NotificationOut",
    "NotificationsOut", "ObjectionCreate", "ObjectionDetails", "ObjectionProcessing",
    "PortabilityCreate", "PortabilityDetails", "PortabilityFormat", "Problem",
    "RectificationChanges", "RectificationCreate", "RectificationDetails", "RejectBody",
    "RequestCreate", "RequestOut", "RequestPage", "ResponseInfo", "RestrictionCreate",
    "RestrictionDetails", "RestrictionGrounds", "RetainedIn", "RetainedOut", "ShortText",
    "Sparse", "Strict", "TaskOut", "TaskOutcome", "VerifyBody", "examples",
    "problem_responses",
]
