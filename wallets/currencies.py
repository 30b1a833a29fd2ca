"""ISO 4217 currencies and their minor-unit exponents, from the maintained `iso4217` package.

Only currencies with a defined minor unit can hold money here: funds, precious metals and testing
codes (XAU, XTS, …) have none and are refused.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from iso4217 import Currency

from .errors import LedgerError, LedgerErrorCode


@cache
def _exponents() -> dict[str, int]:
    return {c.code: c.exponent for c in Currency if c.exponent is not None}


def exponent(code: str) -> int:
    """The number of decimal places of a currency's minor unit (JPY 0, USD 2, KWD 3)."""
    return _exponents()[validate_currency(code)]


def is_supported(code: object) -> bool:
    return isinstance(code, str) and code in _exponents()


def validate_currency(code: object) -> str:
    if not is_supported(code):
        raise LedgerError(
            f"{code!r} is not an ISO 4217 currency with a minor unit", code=LedgerErrorCode.UNSUPPORTED_CURRENCY
        )
    return code  # type: ignore[return-value]


def validate_amount(amount: object) -> int:
    """An amount is a positive integer number of minor units, at most MAX_AMOUNT_MINOR."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError("amount must be an integer number of minor units", code=LedgerErrorCode.INVALID_AMOUNT)
    if amount <= 0:
        raise LedgerError("amount must be positive", code=LedgerErrorCode.INVALID_AMOUNT)
    if amount > settings.MAX_AMOUNT_MINOR:
        raise LedgerError(
            f"amount exceeds the maximum of {settings.MAX_AMOUNT_MINOR} minor units",
            code=LedgerErrorCode.AMOUNT_TOO_LARGE,
        )
    return amount


def supported_codes() -> list[str]:
    return sorted(_exponents())


def format_money(minor: int | None, currency: str) -> str:
    """An amount as people read it: major units with thousands separators and exactly the
    currency's decimals, then the ISO code — `1,234.56 USD`, `1,000 JPY`, `-1.500 KWD`.

    One style everywhere in the back-office (no locale guessing: officers in several countries read
    the same page, and the ISO code is never ambiguous where a symbol like `$` would be). Exact: the
    minor units are split with integer arithmetic, never through a float. A code without a known
    minor unit is shown as what it is, `<minor> <code> (minor units)`; None shows as an empty string."""
    if minor is None:
        return ""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError("an amount is an integer number of minor units")
    if not is_supported(currency):
        return f"{minor} {currency} (minor units)".strip()
    places = _exponents()[currency]
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    text = f"{whole:,}"
    if places:
        text += f".{fraction:0{places}d}"
    return f"{sign}{text} {currency}"
