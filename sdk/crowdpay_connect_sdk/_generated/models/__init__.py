"""Contains all the data models used in inputs/outputs"""

from .balance import Balance
from .beneficial_owner import BeneficialOwner
from .business_submission import BusinessSubmission
from .conversion import Conversion
from .convert_request import ConvertRequest
from .credit_request import CreditRequest
from .debit_request import DebitRequest
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .funding_webhook import FundingWebhook
from .funding_webhook_data import FundingWebhookData
from .funding_webhook_receipt import FundingWebhookReceipt
from .kyc_callback import KycCallback
from .kyc_callback_receipt import KycCallbackReceipt
from .kyc_callback_status_enum import KycCallbackStatusEnum
from .kyc_status import KycStatus
from .kyc_status_kind_enum import KycStatusKindEnum
from .kyc_status_status_enum import KycStatusStatusEnum
from .masked_beneficial_owner import MaskedBeneficialOwner
from .new_wallet_request import NewWalletRequest
from .new_wallet_request_metadata import NewWalletRequestMetadata
from .next_step_enum import NextStepEnum
from .operation import Operation
from .operation_error import OperationError
from .operation_kind_enum import OperationKindEnum
from .operation_problem import OperationProblem
from .operation_status_enum import OperationStatusEnum
from .outcome_enum import OutcomeEnum
from .person_submission import PersonSubmission
from .problem import Problem
from .problem_field_error import ProblemFieldError
from .quote import Quote
from .quote_request import QuoteRequest
from .transfer_request import TransferRequest
from .wallet import Wallet
from .wallet_kind_enum import WalletKindEnum
from .wallet_metadata import WalletMetadata
from .wallet_status_enum import WalletStatusEnum

__all__ = (
    "Balance",
    "BeneficialOwner",
    "BusinessSubmission",
    "Conversion",
    "ConvertRequest",
    "CreditRequest",
    "DebitRequest",
    "Event",
    "EventData",
    "EventPage",
    "FundingWebhook",
    "FundingWebhookData",
    "FundingWebhookReceipt",
    "KycCallback",
    "KycCallbackReceipt",
    "KycCallbackStatusEnum",
    "KycStatus",
    "KycStatusKindEnum",
    "KycStatusStatusEnum",
    "MaskedBeneficialOwner",
    "NewWalletRequest",
    "NewWalletRequestMetadata",
    "NextStepEnum",
    "Operation",
    "OperationError",
    "OperationKindEnum",
    "OperationProblem",
    "OperationStatusEnum",
    "OutcomeEnum",
    "PersonSubmission",
    "Problem",
    "ProblemFieldError",
    "Quote",
    "QuoteRequest",
    "TransferRequest",
    "Wallet",
    "WalletKindEnum",
    "WalletMetadata",
    "WalletStatusEnum",
)
