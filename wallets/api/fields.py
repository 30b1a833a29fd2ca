"""Strict request fields for money: amounts are JSON integers in minor units, currencies ISO 4217."""

from __future__ import annotations

from rest_framework import serializers

from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError


class MinorUnitsField(serializers.IntegerField):
    """A positive integer amount in minor units. Unlike DRF's IntegerField it refuses `"100"`,
    `100.0` and `true`: money is never coerced."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "Amount in minor units of the currency (500_00 = 500.00 USD).")
        kwargs.setdefault("min_value", 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("amount must be a JSON integer of minor units", code="invalid_amount")
        try:
            return validate_amount(data)
        except LedgerError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from None


class CurrencyField(serializers.CharField):
    """An ISO 4217 alphabetic code with a minor unit (USD, JPY, KWD…)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "ISO 4217 alphabetic currency code.")
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("currency must be a string", code="unsupported_currency")
        try:
            return validate_currency(data)
        except LedgerError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from None
