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


class ComplianceError(CodedError):
    statuses = {
        ComplianceErrorCode.CASE_NOT_FOUND: 404,
        ComplianceErrorCode.PROFILE_NOT_FOUND: 404,
        ComplianceErrorCode.CASE_DECIDED: 409,
        ComplianceErrorCode.INVALID_TRANSITION: 409,
    }
