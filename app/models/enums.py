"""The enums the tables and the API share: request types and statuses, task statuses and
actions, audit event actions. Each is stored as a plain string (``app.models._enum``), so a
new member needs no migration.
"""

from __future__ import annotations

from enum import StrEnum


class RequestType(StrEnum):
    access = "access"
    erasure = "erasure"
    rectification = "rectification"
    restriction = "restriction"
    objection = "objection"
    portability = "portability"


# Which statuses are open, active and final is decided in services.lifecycle alone.
class RequestStatus(StrEnum):
    awaiting_verification = "awaiting_verification"
    in_progress = "in_progress"
    action_required = "action_required"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"


class TaskStatus(StrEnum):
    pending = "pending"
    running = "running"
    awaiting_callback = "awaiting_callback"
    done = "done"
    no_data = "no_data"
    retained = "retained"
    failed = "failed"
    manual = "manual"
    cancelled = "cancelled"
    scheduled = "scheduled"  # work due at a later date (scheduled_for): a deferred erasure


class Channel(StrEnum):
    portal = "portal"
    phone = "phone"
    email = "email"
    letter = "letter"
    in_person = "in_person"
    retention = "retention"  # started by the service itself (the policy's retention rules)


class Language(StrEnum):
    sv = "sv"
    en = "en"


class RejectReason(StrEnum):
    manifestly_unfounded = "manifestly_unfounded"
    excessive = "excessive"
    identity_not_verified = "identity_not_verified"
    other = "other"


class TaskAction(StrEnum):
    """What a task does in its system."""

    export = "export"
    export_provided = "export_provided"
    erase = "erase"
    erase_retained = "erase_retained"  # deferred erasure, once a retention period is over
    rectify = "rectify"
    restrict = "restrict"
    lift_restriction = "lift_restriction"
    # Art. 18(3): the customer's notice that a restriction will be lifted (services.lift)
    lift_notice = "lift_notice"
    unlist = "unlist"
    stop_marketing = "stop_marketing"
    assess_objection = "assess_objection"
    port_number = "port_number"


class EventAction(StrEnum):
    """What an audit event records (``app.services.audit`` refuses any other)."""

    created = "created"
    verified = "verified"
    extended = "extended"
    rejected = "rejected"
    cancelled = "cancelled"
    reject_requested = "reject_requested"
    cancel_requested = "cancel_requested"
    lift_requested = "lift_requested"
    lift_notice_delivered = "lift_notice_delivered"
    request_in_progress = "request_in_progress"
    request_action_required = "request_action_required"
    request_completed = "request_completed"
    request_rejected = "request_rejected"
    request_cancelled = "request_cancelled"
    task_pending = "task_pending"
    task_running = "task_running"
    task_awaiting_callback = "task_awaiting_callback"
    task_done = "task_done"
    task_no_data = "task_no_data"
    task_retained = "task_retained"
    task_failed = "task_failed"
    task_manual = "task_manual"
    task_cancelled = "task_cancelled"
    task_scheduled = "task_scheduled"
    task_following_up = "task_following_up"
    task_rescheduled = "task_rescheduled"
    task_retried = "task_retried"
    task_retry_scheduled = "task_retry_scheduled"
    task_throttled = "task_throttled"
    task_throttle_ended = "task_throttle_ended"
    deferred_erasure_scheduled = "deferred_erasure_scheduled"
    callback_not_applied = "callback_not_applied"
    notification_failed = "notification_failed"
    response_built = "response_built"
    response_downloaded = "response_downloaded"
    response_superseded = "response_superseded"
    response_purged = "response_purged"
