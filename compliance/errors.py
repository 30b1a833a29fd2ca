"""Compliance error codes: stable strings clients and the admin switch on."""

from __future__ import annotations

from enum import StrEnum

from crowdpay.errors import CodedError


class ComplianceErrorCode(StrEnum):
    CASE_NOT_FOUND = "review_case_not_found"
    CASE_DECIDED = "review_case_decided"
    PROFILE_NOT_FOUND = "kyc_profile_not_found"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_LIMIT = "invalid_limit"
    INVALID_REASON_CODE = "invalid_reason_code"
    LIMIT_ABOVE_CEILING = "limit_above_ceiling"
    INVALID_FREEZE_REASON = "invalid_freeze_reason"
    # four-eyes (compliance.four_eyes)
    REQUEST_NOT_FOUND = "decision_request_not_found"
    REQUEST_DECIDED = "decision_request_decided"
    REQUEST_EXPIRED = "decision_request_expired"
    REQUEST_PENDING = "decision_request_pending"
    SAME_OFFICER = "four_eyes_same_officer"
    NOT_ALLOWED = "four_eyes_not_allowed"


class ComplianceError(CodedError):
    statuses = {
        ComplianceErrorCode.CASE_NOT_FOUND: 404,
        ComplianceErrorCode.PROFILE_NOT_FOUND: 404,
        ComplianceErrorCode.CASE_DECIDED: 409,
        ComplianceErrorCode.INVALID_TRANSITION: 409,
        ComplianceErrorCode.REQUEST_NOT_FOUND: 404,
        ComplianceErrorCode.REQUEST_DECIDED: 409,
        ComplianceErrorCode.REQUEST_EXPIRED: 409,
        ComplianceErrorCode.REQUEST_PENDING: 409,
        ComplianceErrorCode.SAME_OFFICER: 403,
        ComplianceErrorCode.NOT_ALLOWED: 403,
    }
