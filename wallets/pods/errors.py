"""CrowdPod error codes: stable strings clients switch on."""

from __future__ import annotations

from enum import StrEnum

from crowdpay.errors import CodedError


class PodErrorCode(StrEnum):
    POD_NOT_FOUND = "pod_not_found"
    NOT_A_POD = "not_a_pod"
    POD_DISSOLVED = "pod_dissolved"
    MEMBER_NOT_FOUND = "member_not_found"
    FORBIDDEN_FOR_ROLE = "forbidden_for_role"
    ALREADY_MEMBER = "already_member"
    INVITATION_NOT_PENDING = "invitation_not_pending"
    LAST_OWNER = "last_owner"
    GOAL_NOT_FOUND = "goal_not_found"
    GOAL_OPEN = "goal_already_open"
    GOAL_REACHED = "goal_reached"
    GOAL_EXPIRED = "goal_expired"
    GOAL_NOT_REACHED = "goal_not_reached"
    DEADLINE_PASSED = "deadline_in_past"
    CURRENCY_MISMATCH = "currency_mismatch"
    WALLET_NOT_OWNED = "wallet_not_found"
    OUTFLOW_NOT_FOUND = "outflow_not_found"
    OUTFLOW_NOT_PENDING = "outflow_not_pending"
    ALREADY_DECIDED = "already_decided"
    NOT_ELIGIBLE = "not_eligible_to_approve"
    INVALID_POLICY = "invalid_policy"
    UNATTRIBUTED_FUNDS = "unattributed_funds"
    NOTHING_TO_REFUND = "nothing_to_refund"
    SCREENING_DECLINED = "screening_declined"


class PodError(CodedError):
    statuses = {
        PodErrorCode.POD_NOT_FOUND: 404,
        PodErrorCode.MEMBER_NOT_FOUND: 404,
        PodErrorCode.GOAL_NOT_FOUND: 404,
        PodErrorCode.OUTFLOW_NOT_FOUND: 404,
        PodErrorCode.WALLET_NOT_OWNED: 404,
        PodErrorCode.FORBIDDEN_FOR_ROLE: 403,
        PodErrorCode.NOT_ELIGIBLE: 403,
        PodErrorCode.ALREADY_MEMBER: 409,
        PodErrorCode.GOAL_OPEN: 409,
        PodErrorCode.INVITATION_NOT_PENDING: 409,
        PodErrorCode.OUTFLOW_NOT_PENDING: 409,
        PodErrorCode.ALREADY_DECIDED: 409,
    }
