"""Contains all the data models used in inputs/outputs"""

from .balance import Balance
from .credit_request import CreditRequest
from .debit_request import DebitRequest
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .new_wallet_request import NewWalletRequest
from .new_wallet_request_metadata import NewWalletRequestMetadata
from .operation import Operation
from .operation_error import OperationError
from .operation_kind_enum import OperationKindEnum
from .operation_status_enum import OperationStatusEnum
from .problem import Problem
from .problem_field_error import ProblemFieldError
from .transfer_request import TransferRequest
from .wallet import Wallet
from .wallet_kind_enum import WalletKindEnum
from .wallet_metadata import WalletMetadata
from .wallet_status_enum import WalletStatusEnum

__all__ = (
    "Balance",
    "CreditRequest",
    "DebitRequest",
    "Event",
    "EventData",
    "EventPage",
    "NewWalletRequest",
    "NewWalletRequestMetadata",
    "Operation",
    "OperationError",
    "OperationKindEnum",
    "OperationStatusEnum",
    "Problem",
    "ProblemFieldError",
    "TransferRequest",
    "Wallet",
    "WalletKindEnum",
    "WalletMetadata",
    "WalletStatusEnum",
)
