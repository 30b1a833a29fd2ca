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
    POD_GOAL_REACHED = "pod.goal_reached"
    POD_GOAL_EXPIRED = "pod.goal_expired"
    POD_OUTFLOW_REQUESTED = "pod.outflow_requested"
    POD_OUTFLOW_APPROVED = "pod.outflow_approved"
    POD_OUTFLOW_REJECTED = "pod.outflow_rejected"


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
    EventType.POD_GOAL_REACHED: (
        "A CrowdPod's goal was met and every pledge captured into the pod. Sent to each active member"
        " of the pod who subscribes. `data`: pod_id, goal_id, amount (captured), currency, goal_amount,"
        " pledges, contributors, journal_ids."
    ),
    EventType.POD_GOAL_EXPIRED: (
        "A CrowdPod's goal reached its deadline unmet; every pledge was released. Sent to each active"
        " member who subscribes. `data`: pod_id, goal_id, goal_amount, currency, pledged."
    ),
    EventType.POD_OUTFLOW_REQUESTED: (
        "A member asked for money to leave a CrowdPod. Sent to each active member who subscribes."
        " `data`: the outflow (pod_id, outflow_id, amount, currency, to_wallet_id, requested_by, status,"
        " approvals_required)."
    ),
    EventType.POD_OUTFLOW_APPROVED: (
        "A CrowdPod outflow was approved (its quorum met, or within the requester's allowance) and is"
        " about to run as a transfer (its operation.* events follow). `data`: the outflow, and `via`"
        " (`allowance` or `quorum`)."
    ),
    EventType.POD_OUTFLOW_REJECTED: (
        "A CrowdPod outflow will not run: rejected by its approvers, expired, or the pod dissolved."
        " `data`: the outflow, and `reason` (`rejected`, `expired`, `pod_dissolved`)."
    ),
}

OPERATION_EVENT = {
    "SUCCEEDED": EventType.OPERATION_SUCCEEDED,
    "FAILED": EventType.OPERATION_FAILED,
    "IN_REVIEW": EventType.OPERATION_PENDING_REVIEW,
}
