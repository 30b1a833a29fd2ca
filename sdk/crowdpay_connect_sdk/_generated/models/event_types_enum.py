from enum import StrEnum


class EventTypesEnum(StrEnum):
    OPERATION_FAILED = "operation.failed"
    OPERATION_PENDING_REVIEW = "operation.pending_review"
    OPERATION_SUCCEEDED = "operation.succeeded"
    POD_GOAL_EXPIRED = "pod.goal_expired"
    POD_GOAL_REACHED = "pod.goal_reached"
    POD_OUTFLOW_APPROVED = "pod.outflow_approved"
    POD_OUTFLOW_REJECTED = "pod.outflow_rejected"
    POD_OUTFLOW_REQUESTED = "pod.outflow_requested"
    WALLET_BALANCE_ABOVE = "wallet.balance_above"
    WALLET_BALANCE_BELOW = "wallet.balance_below"
    WALLET_CLOSED = "wallet.closed"
    WALLET_FROZEN = "wallet.frozen"
    WALLET_UNFROZEN = "wallet.unfrozen"

    def __str__(self) -> str:
        return str(self.value)
