"""Currency conversion arithmetic. A conversion states its rate, the rate's source and its
rounding: the target amount is rounded down to the target's minor unit, and the remainder stays
with the house FX account, so no value appears or vanishes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, localcontext
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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


# --- where rates come from -----------------------------------------------------------------------
# The wallets quote conversions (and count velocity in a base currency) at a rate from an FX source
# they do not own: the sagas app's FX gateway (the admin's rates table, or a remote FX service). It
# registers it here at start-up (`SagasConfig.ready`), so that the ledger never imports the app that
# orchestrates it (`crowdpay/tests/test_app_imports.py`). A source answers `quote(base=, quote=)`
# with a `Quote`, and raises `crowdpay.gateways.GatewayRejected` (no such rate) or
# `GatewayUnavailable` (worth a retry).


class RateSource(Protocol):
    def quote(self, *, base: str, quote: str) -> Quote: ...


_rate_sources: dict[str, Callable[[], RateSource]] = {}


def rate_source_register(current: Callable[[], RateSource], *, local: Callable[[], RateSource]) -> None:
    """Called once at start-up with what builds the current source (the configured FX service) and
    the local one (the rates table: no network call). A second call replaces them."""
    _rate_sources.update(current=current, local=local)


def rate_source(*, local: bool = False) -> RateSource:
    """The registered FX source, built now (its settings may have changed since start-up); with
    `local`, the one that makes no network call (for a read in a request or under a lock)."""
    factory = _rate_sources.get("local" if local else "current")
    if factory is None:
        raise ImproperlyConfigured("no FX rate source registered: is the sagas app installed?")
    return factory()


def to_base(amount: int, currency: str, *, rates=None) -> int:
    """`amount` minor units of `currency` in minor units of `VELOCITY_BASE_CURRENCY`, rounded up (an
    outflow never counts for less than it is worth), at the rates table's rate (`rate_source(local=True)`:
    no network call; `rates` if given: anything with `quote(base=, quote=)`). Called before any lock."""
    base = validate_currency(settings.VELOCITY_BASE_CURRENCY)
    if currency == base:
        return amount
    if rates is None:
        rates = rate_source(local=True)
    from crowdpay.gateways import GatewayRejected, GatewayUnavailable

    try:
        quote = rates.quote(base=currency, quote=base)
    except GatewayRejected as exc:
        raise LedgerError(exc.detail, code=LedgerErrorCode.FX_RATE_UNAVAILABLE) from None
    except GatewayUnavailable as exc:
        raise LedgerError(
            f"the FX service is unavailable; retry shortly ({exc.detail})", code=LedgerErrorCode.FX_UNAVAILABLE
        ) from None
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(amount) * quote.rate * (Decimal(10) ** (exponent(base) - exponent(currency)))
        return int(exact.to_integral_value(rounding=ROUND_CEILING))
