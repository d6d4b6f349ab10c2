"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457).

::

    DsrError                      500  (base; never raised directly)
    ├── BadRequest                400
    │   ├── MalformedBody         400  (not UTF-8 JSON: one type for every unreadable body)
    │   └── InvalidCursor         400
    ├── Unauthorized              401
    │   └── InvalidSignature      401  (a partner callback's Standard Webhooks signature)
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── MethodNotAllowed          405
    ├── Conflict                  409
    │   ├── InvalidState          409  (an action the request's status does not allow)
    │   │   └── one per situation 409  (``conflicts``: request-closing, task-not-retryable...)
    │   └── IdempotencyMismatch   409  (same Idempotency-Key, other body)
    ├── Gone                      410  (a response package past its retention period)
    ├── PayloadTooLarge           413
    ├── RangeNotSatisfiable       416
    ├── Unprocessable             422
    ├── HeadersTooLarge           431
    ├── DatabaseUnavailable       503  (the database out of reach: a restart, a network fault)
    └── NotReady                  503  (a response package that cannot be built just now)
    ConnectorError                     (raised by connectors, handled by the dispatcher)
    ├── TransientError                 (timeouts, 429, 5xx: retried, honouring Retry-After)
    │   ├── Throttled                  (429: the partner pacing us)
    │   └── MaybeDelivered             (the partner may have applied it)
    └── PermanentError                 (other 4xx, bad configuration: the task fails)

``kinds`` holds the tree, ``conflicts`` the 409 situations, ``handlers`` the mapping. Nothing
below the routers raises ``HTTPException``. Everything is importable from here.
"""

from app.db_outage import database_unreachable
from app.errors.conflicts import (
    AlreadyLifted,
    DecisionNotApplicable,
    DecisionRequired,
    ExtensionLimitReached,
    ExtensionTooLate,
    NotARestriction,
    NoticeLetterNotReady,
    NoticeOutcomeNotDone,
    RequestClosing,
    RequestNotFinished,
    RetainedItemsMissing,
    TaskNotCompletable,
    TaskNotRetryable,
)
from app.errors.handlers import (
    DATABASE_RETRY_AFTER_S,
    allowed_methods,
    database_unavailable,
    install_error_handlers,
    internal_error,
    log_unexpected,
    problem,
    problem_of,
    safe_frames,
    unexpected_error,
    validation_problem,
)
from app.errors.kinds import (
    PROBLEM_BASE,
    PROBLEM_JSON,
    BadRequest,
    Conflict,
    ConnectorError,
    DatabaseUnavailable,
    DsrError,
    Forbidden,
    Gone,
    HeadersTooLarge,
    IdempotencyMismatch,
    InvalidCursor,
    InvalidSignature,
    InvalidState,
    MalformedBody,
    MaybeDelivered,
    MethodNotAllowed,
    NotFound,
    NotReady,
    PayloadTooLarge,
    PermanentError,
    RangeNotSatisfiable,
    Throttled,
    TransientError,
    Unauthorized,
    Unprocessable,
    problem_types,
    problem_uri,
)

__all__ = [
    "DATABASE_RETRY_AFTER_S", "PROBLEM_BASE", "PROBLEM_JSON", "AlreadyLifted", "BadRequest",
    "Conflict", "ConnectorError", "DatabaseUnavailable", "DecisionNotApplicable",
    "DecisionRequired", "DsrError", "ExtensionLimitReached", "ExtensionTooLate", "Forbidden",
    "Gone", "HeadersTooLarge", "IdempotencyMismatch", "InvalidCursor", "InvalidSignature",
    "InvalidState", "MalformedBody", "MaybeDelivered", "MethodNotAllowed", "NotARestriction",
    "NotFound", "NotReady", "NoticeLetterNotReady", "NoticeOutcomeNotDone", "PayloadTooLarge",
    "PermanentError", "RangeNotSatisfiable", "RequestClosing", "RequestNotFinished",
    "RetainedItemsMissing", "TaskNotCompletable", "TaskNotRetryable", "Throttled",
    "TransientError", "Unauthorized", "Unprocessable", "allowed_methods", "database_unavailable",
    "database_unreachable", "install_error_handlers", "internal_error", "log_unexpected",
    "problem", "problem_of", "problem_types", "problem_uri", "safe_frames", "unexpected_error",
    "validation_problem",
]
