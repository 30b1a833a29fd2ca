"""Ledger error codes: stable strings clients switch on."""

from __future__ import annotations

from enum import StrEnum

from crowdpay.errors import CodedError


class LedgerErrorCode(StrEnum):
    WALLET_NOT_FOUND = "wallet_not_found"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    WALLET_FROZEN = "wallet_frozen"
    WALLET_CLOSED = "wallet_closed"
    WALLET_NOT_EMPTY = "wallet_not_empty"
    UNSUPPORTED_CURRENCY = "unsupported_currency"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_TOO_LARGE = "amount_too_large"
    SAME_WALLET = "same_wallet"
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_NOT_ACTIVE = "hold_not_active"
    REFERENCE_CONFLICT = "reference_conflict"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_RATE = "invalid_rate"
    CONCURRENCY_CONFLICT = "concurrency_conflict"
    QUOTE_NOT_FOUND = "quote_not_found"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_USED = "quote_used"
    FX_RATE_UNAVAILABLE = "fx_rate_unavailable"
    FX_UNAVAILABLE = "fx_unavailable"
    VELOCITY_LIMIT_EXCEEDED = "velocity_limit_exceeded"


class LedgerError(CodedError):
    statuses = {
        LedgerErrorCode.WALLET_NOT_FOUND: 404,
        LedgerErrorCode.HOLD_NOT_FOUND: 404,
        LedgerErrorCode.QUOTE_NOT_FOUND: 404,
        LedgerErrorCode.FX_UNAVAILABLE: 503,
        LedgerErrorCode.REFERENCE_CONFLICT: 409,
        LedgerErrorCode.CONCURRENCY_CONFLICT: 409,
        LedgerErrorCode.INVALID_TRANSITION: 409,
        LedgerErrorCode.HOLD_NOT_ACTIVE: 409,
        LedgerErrorCode.WALLET_NOT_EMPTY: 409,
    }
