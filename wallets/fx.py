"""Currency conversion arithmetic. A conversion states its rate, the rate's source and its
rounding: the target amount is rounded down to the target's minor unit, and the remainder stays
with the house FX account, so no value appears or vanishes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from .currencies import exponent, validate_currency
from .errors import LedgerError, LedgerErrorCode

ROUNDING = "down"


@dataclass(frozen=True)
class Quote:
    """A rate: one unit of `base` buys `rate` units of `quote`."""

    base: str
    quote: str
    rate: Decimal
    source: str
    quote_id: str = ""

    def __post_init__(self) -> None:
        validate_currency(self.base)
        validate_currency(self.quote)
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate <= 0:
            raise LedgerError(f"invalid FX rate {self.rate!r}", code=LedgerErrorCode.INVALID_RATE)


@dataclass(frozen=True)
class Conversion:
    from_currency: str
    from_amount: int
    to_currency: str
    to_amount: int
    rate: Decimal
    source: str
    quote_id: str
    remainder: Decimal  # in target minor units, kept by the house FX account

    def as_event_data(self) -> dict:
        return {
            "from_currency": self.from_currency,
            "from_amount": self.from_amount,
            "to_currency": self.to_currency,
            "to_amount": self.to_amount,
            "rate": str(self.rate),
            "rate_source": self.source,
            "quote_id": self.quote_id,
            "rounding": ROUNDING,
            "remainder_minor": str(self.remainder),
        }


def convert(amount: int, quote: Quote) -> Conversion:
    """Convert `amount` minor units of `quote.base` into minor units of `quote.quote`."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(amount) * quote.rate * (Decimal(10) ** (exponent(quote.quote) - exponent(quote.base)))
        to_amount = int(exact.to_integral_value(rounding=ROUND_DOWN))
        remainder = exact - to_amount
    if to_amount <= 0:
        raise LedgerError(
            f"{amount} {quote.base} is worth less than one minor unit of {quote.quote}",
            code=LedgerErrorCode.INVALID_AMOUNT,
        )
    return Conversion(quote.base, amount, quote.quote, to_amount, quote.rate, quote.source, quote.quote_id, remainder)
