"""Contains all the data models used in inputs/outputs"""

from .approver_roles_enum import ApproverRolesEnum
from .balance import Balance
from .balance_crossing_data import BalanceCrossingData
from .balance_crossing_data_direction import BalanceCrossingDataDirection
from .balance_crossing_event import BalanceCrossingEvent
from .balance_monitor import BalanceMonitor
from .beneficial_owner import BeneficialOwner
from .business_submission import BusinessSubmission
from .conversion import Conversion
from .convert_request import ConvertRequest
from .credit_request import CreditRequest
from .debit_request import DebitRequest
from .decision_enum import DecisionEnum
from .delivery_attempt import DeliveryAttempt
from .delivery_attempt_outcome_enum import DeliveryAttemptOutcomeEnum
from .direction_enum import DirectionEnum
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .event_types_enum import EventTypesEnum
from .funding_webhook import FundingWebhook
from .funding_webhook_data import FundingWebhookData
from .funding_webhook_receipt import FundingWebhookReceipt
from .kyc_callback import KycCallback
from .kyc_callback_receipt import KycCallbackReceipt
from .kyc_callback_receipt_outcome_enum import KycCallbackReceiptOutcomeEnum
from .kyc_callback_status_enum import KycCallbackStatusEnum
from .kyc_status import KycStatus
from .kyc_status_kind_enum import KycStatusKindEnum
from .kyc_status_status_enum import KycStatusStatusEnum
from .list_webhook_deliveries_status import ListWebhookDeliveriesStatus
from .masked_beneficial_owner import MaskedBeneficialOwner
from .monitor_request import MonitorRequest
from .new_wallet_request import NewWalletRequest
from .new_wallet_request_metadata import NewWalletRequestMetadata
from .next_step_enum import NextStepEnum
from .operation import Operation
from .operation_error import OperationError
from .operation_event import OperationEvent
from .operation_kind_enum import OperationKindEnum
from .operation_problem import OperationProblem
from .operation_status_enum import OperationStatusEnum
from .patched_webhook_endpoint_update import PatchedWebhookEndpointUpdate
from .person_submission import PersonSubmission
from .pledge import Pledge
from .pledge_request import PledgeRequest
from .pledge_status_enum import PledgeStatusEnum
from .pod import Pod
from .pod_contribution import PodContribution
from .pod_goal import PodGoal
from .pod_goal_expired_data import PodGoalExpiredData
from .pod_goal_expired_event import PodGoalExpiredEvent
from .pod_goal_reached_data import PodGoalReachedData
from .pod_goal_reached_event import PodGoalReachedEvent
from .pod_goal_request import PodGoalRequest
from .pod_goal_status_enum import PodGoalStatusEnum
from .pod_invite_request import PodInviteRequest
from .pod_member import PodMember
from .pod_member_status_enum import PodMemberStatusEnum
from .pod_outflow import PodOutflow
from .pod_outflow_data import PodOutflowData
from .pod_outflow_data_reason import PodOutflowDataReason
from .pod_outflow_data_via import PodOutflowDataVia
from .pod_outflow_event import PodOutflowEvent
from .pod_outflow_request import PodOutflowRequest
from .pod_outflow_status_enum import PodOutflowStatusEnum
from .pod_outflow_vote import PodOutflowVote
from .pod_policy_request import PodPolicyRequest
from .pod_refund import PodRefund
from .pod_reject_request import PodRejectRequest
from .pod_role_request import PodRoleRequest
from .problem import Problem
from .problem_field_error import ProblemFieldError
from .quote import Quote
from .quote_request import QuoteRequest
from .replay_failed_request import ReplayFailedRequest
from .replay_failed_result import ReplayFailedResult
from .role_enum import RoleEnum
from .transfer_request import TransferRequest
from .wallet import Wallet
from .wallet_kind_enum import WalletKindEnum
from .wallet_metadata import WalletMetadata
from .wallet_status_data import WalletStatusData
from .wallet_status_enum import WalletStatusEnum
from .wallet_status_event import WalletStatusEvent
from .webhook_delivery import WebhookDelivery
from .webhook_delivery_page import WebhookDeliveryPage
from .webhook_delivery_status_enum import WebhookDeliveryStatusEnum
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_request import WebhookEndpointRequest
from .webhook_endpoint_status_enum import WebhookEndpointStatusEnum
from .webhook_endpoint_with_secret import WebhookEndpointWithSecret

__all__ = (
    "ApproverRolesEnum",
    "Balance",
    "BalanceCrossingData",
    "BalanceCrossingDataDirection",
    "BalanceCrossingEvent",
    "BalanceMonitor",
    "BeneficialOwner",
    "BusinessSubmission",
    "Conversion",
    "ConvertRequest",
    "CreditRequest",
    "DebitRequest",
    "DecisionEnum",
    "DeliveryAttempt",
    "DeliveryAttemptOutcomeEnum",
    "DirectionEnum",
    "Event",
    "EventData",
    "EventPage",
    "EventTypesEnum",
    "FundingWebhook",
    "FundingWebhookData",
    "FundingWebhookReceipt",
    "KycCallback",
    "KycCallbackReceipt",
    "KycCallbackReceiptOutcomeEnum",
    "KycCallbackStatusEnum",
    "KycStatus",
    "KycStatusKindEnum",
    "KycStatusStatusEnum",
    "ListWebhookDeliveriesStatus",
    "MaskedBeneficialOwner",
    "MonitorRequest",
    "NewWalletRequest",
    "NewWalletRequestMetadata",
    "NextStepEnum",
    "Operation",
    "OperationError",
    "OperationEvent",
    "OperationKindEnum",
    "OperationProblem",
    "OperationStatusEnum",
    "PatchedWebhookEndpointUpdate",
    "PersonSubmission",
    "Pledge",
    "PledgeRequest",
    "PledgeStatusEnum",
    "Pod",
    "PodContribution",
    "PodGoal",
    "PodGoalExpiredData",
    "PodGoalExpiredEvent",
    "PodGoalReachedData",
    "PodGoalReachedEvent",
    "PodGoalRequest",
    "PodGoalStatusEnum",
    "PodInviteRequest",
    "PodMember",
    "PodMemberStatusEnum",
    "PodOutflow",
    "PodOutflowData",
    "PodOutflowDataReason",
    "PodOutflowDataVia",
    "PodOutflowEvent",
    "PodOutflowRequest",
    "PodOutflowStatusEnum",
    "PodOutflowVote",
    "PodPolicyRequest",
    "PodRefund",
    "PodRejectRequest",
    "PodRoleRequest",
    "Problem",
    "ProblemFieldError",
    "Quote",
    "QuoteRequest",
    "ReplayFailedRequest",
    "ReplayFailedResult",
    "RoleEnum",
    "TransferRequest",
    "Wallet",
    "WalletKindEnum",
    "WalletMetadata",
    "WalletStatusData",
    "WalletStatusEnum",
    "WalletStatusEvent",
    "WebhookDelivery",
    "WebhookDeliveryPage",
    "WebhookDeliveryStatusEnum",
    "WebhookEndpoint",
    "WebhookEndpointRequest",
    "WebhookEndpointStatusEnum",
    "WebhookEndpointWithSecret",
)
