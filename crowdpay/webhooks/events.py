"""The event types a subscriber may ask for, with what each one's `data` holds (the OpenAPI
schema's `webhooks` section is built from this table)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    OPERATION_SUCCEEDED = "operation.succeeded"
    OPERATION_FAILED = "operation.failed"
    OPERATION_PENDING_REVIEW = "operation.pending_review"
    WALLET_FROZEN = "wallet.frozen"
    WALLET_UNFROZEN = "wallet.unfrozen"
    WALLET_CLOSED = "wallet.closed"
    WALLET_BALANCE_BELOW = "wallet.balance_below"
    WALLET_BALANCE_ABOVE = "wallet.balance_above"


EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)

DESCRIPTIONS: dict[str, str] = {
    EventType.OPERATION_SUCCEEDED: "An operation (credit, withdrawal, transfer) succeeded. `data` is the Operation.",
    EventType.OPERATION_FAILED: "An operation failed (its compensation done). `data` is the Operation with `error`.",
    EventType.OPERATION_PENDING_REVIEW: "An operation waits for a compliance officer. `data` is the Operation.",
    EventType.WALLET_FROZEN: "A wallet was frozen. `data`: wallet_id, owner_id, from_status, to_status.",
    EventType.WALLET_UNFROZEN: "A frozen wallet was unfrozen. `data`: wallet_id, owner_id, from_status, to_status.",
    EventType.WALLET_CLOSED: "A wallet was closed. `data`: wallet_id, owner_id, from_status, to_status.",
    EventType.WALLET_BALANCE_BELOW: (
        "A balance monitor's available balance crossed below its threshold (once per crossing). `data`:"
        " monitor_id, wallet_id, currency, threshold, previous_available, available."
    ),
    EventType.WALLET_BALANCE_ABOVE: (
        "A balance monitor's available balance crossed above its threshold (once per crossing). `data`:"
        " monitor_id, wallet_id, currency, threshold, previous_available, available."
    ),
}

OPERATION_EVENT = {
    "SUCCEEDED": EventType.OPERATION_SUCCEEDED,
    "FAILED": EventType.OPERATION_FAILED,
    "IN_REVIEW": EventType.OPERATION_PENDING_REVIEW,
}
