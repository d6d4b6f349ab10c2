""" Contains all the data models used in inputs/outputs """

from .access_create import AccessCreate
from .agent_channel import AgentChannel
from .cancel_body import CancelBody
from .channel import Channel
from .complete_task_body import CompleteTaskBody
from .complete_task_body_decision_type_0 import CompleteTaskBodyDecisionType0
from .complete_task_body_outcome import CompleteTaskBodyOutcome
from .details_out import DetailsOut
from .erasure_create import ErasureCreate
from .event_action import EventAction
from .event_out import EventOut
from .event_out_data import EventOutData
from .events_out import EventsOut
from .extend_body import ExtendBody
from .extensions import Extensions
from .extensions_number_porting_type_0 import ExtensionsNumberPortingType0
from .extensions_objection_type_0 import ExtensionsObjectionType0
from .extensions_rectification_type_0 import ExtensionsRectificationType0
from .extensions_rectification_type_0_additional_property import ExtensionsRectificationType0AdditionalProperty
from .extensions_restriction_type_0 import ExtensionsRestrictionType0
from .field_error import FieldError
from .health import Health
from .identity_method import IdentityMethod
from .language import Language
from .lift_body import LiftBody
from .link_body import LinkBody
from .link_out import LinkOut
from .linked_system import LinkedSystem
from .no_details import NoDetails
from .notification_data import NotificationData
from .notification_out import NotificationOut
from .notification_out_event import NotificationOutEvent
from .notification_out_payload import NotificationOutPayload
from .notification_out_status import NotificationOutStatus
from .notifications_out import NotificationsOut
from .objection_create import ObjectionCreate
from .objection_details import ObjectionDetails
from .objection_processing import ObjectionProcessing
from .partner_ack import PartnerAck
from .partner_ack_request_status import PartnerAckRequestStatus
from .partner_callback import PartnerCallback
from .partner_callback_request_status import PartnerCallbackRequestStatus
from .partner_request import PartnerRequest
from .partner_request_subject_request_type import PartnerRequestSubjectRequestType
from .partner_result import PartnerResult
from .partner_result_data_type_0 import PartnerResultDataType0
from .partner_result_outcome import PartnerResultOutcome
from .partner_retained import PartnerRetained
from .portability_create import PortabilityCreate
from .portability_details import PortabilityDetails
from .portability_details_receiving_operator_type_0 import PortabilityDetailsReceivingOperatorType0
from .portability_format import PortabilityFormat
from .portal_notification import PortalNotification
from .portal_notification_type import PortalNotificationType
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .readiness_database import ReadinessDatabase
from .readiness_status import ReadinessStatus
from .receive_partner_callback_system import ReceivePartnerCallbackSystem
from .rectification_changes import RectificationChanges
from .rectification_create import RectificationCreate
from .rectification_details import RectificationDetails
from .reject_body import RejectBody
from .reject_reason import RejectReason
from .request_out import RequestOut
from .request_out_closing_as_type_0 import RequestOutClosingAsType0
from .request_page import RequestPage
from .request_status import RequestStatus
from .request_type import RequestType
from .response_info import ResponseInfo
from .restriction_create import RestrictionCreate
from .restriction_details import RestrictionDetails
from .restriction_grounds import RestrictionGrounds
from .retained_in import RetainedIn
from .retained_out import RetainedOut
from .subject_identity import SubjectIdentity
from .system import System
from .task_action import TaskAction
from .task_out import TaskOut
from .task_outcome import TaskOutcome
from .task_outcome_params import TaskOutcomeParams
from .task_status import TaskStatus
from .verify_body import VerifyBody
from .webhook_ack import WebhookAck
from .webhook_ack_status import WebhookAckStatus

__all__ = (
    "AccessCreate",
    "AgentChannel",
    "CancelBody",
    "Channel",
    "CompleteTaskBody",
    "CompleteTaskBodyDecisionType0",
    "CompleteTaskBodyOutcome",
    "DetailsOut",
    "ErasureCreate",
    "EventAction",
    "EventOut",
    "EventOutData",
    "EventsOut",
    "ExtendBody",
    "Extensions",
    "ExtensionsNumberPortingType0",
    "ExtensionsObjectionType0",
    "ExtensionsRectificationType0",
    "ExtensionsRectificationType0AdditionalProperty",
    "ExtensionsRestrictionType0",
    "FieldError",
    "Health",
    "IdentityMethod",
    "Language",
    "LiftBody",
    "LinkBody",
    "LinkedSystem",
    "LinkOut",
    "NoDetails",
    "NotificationData",
    "NotificationOut",
    "NotificationOutEvent",
    "NotificationOutPayload",
    "NotificationOutStatus",
    "NotificationsOut",
    "ObjectionCreate",
    "ObjectionDetails",
    "ObjectionProcessing",
    "PartnerAck",
    "PartnerAckRequestStatus",
    "PartnerCallback",
    "PartnerCallbackRequestStatus",
    "PartnerRequest",
    "PartnerRequestSubjectRequestType",
    "PartnerResult",
    "PartnerResultDataType0",
    "PartnerResultOutcome",
    "PartnerRetained",
    "PortabilityCreate",
    "PortabilityDetails",
    "PortabilityDetailsReceivingOperatorType0",
    "PortabilityFormat",
    "PortalNotification",
    "PortalNotificationType",
    "Problem",
    "ProblemType",
    "Readiness",
    "ReadinessDatabase",
    "ReadinessStatus",
    "ReceivePartnerCallbackSystem",
    "RectificationChanges",
    "RectificationCreate",
    "RectificationDetails",
    "RejectBody",
    "RejectReason",
    "RequestOut",
    "RequestOutClosingAsType0",
    "RequestPage",
    "RequestStatus",
    "RequestType",
    "ResponseInfo",
    "RestrictionCreate",
    "RestrictionDetails",
    "RestrictionGrounds",
    "RetainedIn",
    "RetainedOut",
    "SubjectIdentity",
    "System",
    "TaskAction",
    "TaskOut",
    "TaskOutcome",
    "TaskOutcomeParams",
    "TaskStatus",
    "VerifyBody",
    "WebhookAck",
    "WebhookAckStatus",
)
