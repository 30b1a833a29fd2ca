from enum import StrEnum


class EventTypesEnum(StrEnum):
    OPERATION_FAILED = "operation.failed"
    OPERATION_PENDING_REVIEW = "operation.pending_review"
    OPERATION_SUCCEEDED = "operation.succeeded"
    WALLET_BALANCE_ABOVE = "wallet.balance_above"
    WALLET_BALANCE_BELOW = "wallet.balance_below"
    WALLET_CLOSED = "wallet.closed"
    WALLET_FROZEN = "wallet.frozen"
    WALLET_UNFROZEN = "wallet.unfrozen"

    def __str__(self) -> str:
        return str(self.value)
