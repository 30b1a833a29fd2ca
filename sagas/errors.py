"""Saga error codes: stable strings clients and officers switch on."""

from __future__ import annotations

from enum import StrEnum

from crowdpay.errors import CodedError


class SagaErrorCode(StrEnum):
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    OPERATION_NOT_FOUND = "operation_not_found"
    PAYOUT_NOT_FOUND = "payout_not_found"
    PAYOUT_ALREADY_SETTLED = "payout_already_settled"
    SAGA_NOT_IN_REVIEW = "saga_not_in_review"
    INVALID_REFERENCE = "invalid_reference"
    DESTINATION_REQUIRED = "destination_required"
    CHARGE_ALREADY_USED = "charge_already_used"  # 422: the charge funded (or is funding) another credit
    # Failures recorded on a saga (its `error_code`), never raised to the caller of *_start:
    FUNDING_DECLINED = "funding_declined"
    PAYOUT_FAILED = "payout_failed"
    FX_RATE_UNAVAILABLE = "fx_rate_unavailable"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    REVIEW_REJECTED = "review_rejected"
    REFUND_REJECTED = "refund_rejected"
    # The payment provider's answers on a funding's charge (sagas.gateways.funding.ChargeErrorCode):
    CHARGE_NOT_FOUND = "charge_not_found"
    CHARGE_NOT_CAPTURED = "charge_not_captured"
    CHARGE_DECLINED = "charge_declined"
    CHARGE_MISMATCH = "charge_mismatch"


class SagaError(CodedError):
    statuses = {
        SagaErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
        SagaErrorCode.OPERATION_NOT_FOUND: 404,
        SagaErrorCode.PAYOUT_NOT_FOUND: 404,
        SagaErrorCode.PAYOUT_ALREADY_SETTLED: 409,
        SagaErrorCode.SAGA_NOT_IN_REVIEW: 409,
        SagaErrorCode.INVALID_REFERENCE: 400,
        SagaErrorCode.DESTINATION_REQUIRED: 400,
    }
