"""Funding with the payment provider: is the charge behind a credit's reference real, captured, and
for the same amount and currency (`confirm`), and give a confirmed charge back (`refund`) when the
credit is refused after the charge was taken.

Two implementations, chosen by `FUNDING_SERVICE_ENDPOINT` (`sagas.gateways.funding_gateway`):

- `HttpFundingGateway`: a card provider over REST.
  `GET {endpoint}/charges/{reference}` answers `{"id", "status", "amount", "currency"}` (`status`
  one of `captured`, `pending`, `failed`, `refunded`; 404 when the provider has no such charge);
  `POST {endpoint}/charges/{reference}/refunds` with `Idempotency-Key: saga:<id>:refund` and
  `{"amount", "currency", "reference"}` gives a charge back (a retried refund is the one refund the
  provider already made; 404, a charge it never took, is done with nothing to give back).
  Transient answers (timeouts, refused connections, 5xx, 429) are retried here a few times
  (`FUNDING_HTTP_TRIES`), then surface as `GatewayUnavailable` for the saga's own backoff.
- `SandboxFundingGateway`: built in, for `make run` and tests, charging nothing. It knows only the
  documented test tokens in `SANDBOX_TOKENS`; any other reference is `charge_not_found`. Production
  settings refuse to start with it.

`confirm` raises `ChargePending` while the provider has the charge but has not captured it yet (the
saga then waits for the signed webhook, or polls, until `FUNDING_CONFIRM_TIMEOUT_SECONDS`), and
`GatewayRejected` with one of the stable codes below when the charge can never fund this credit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlsplit

from django.conf import settings

from crowdpay.gateways import GatewayError, GatewayRejected, GatewayUnavailable, HttpGateway


class ChargeErrorCode(StrEnum):
    CHARGE_NOT_FOUND = "charge_not_found"
    CHARGE_NOT_CAPTURED = "charge_not_captured"
    CHARGE_DECLINED = "charge_declined"
    CHARGE_MISMATCH = "charge_mismatch"
    CHARGE_ALREADY_USED = "charge_already_used"
    REFUND_REJECTED = "refund_rejected"


CAPTURED, PENDING, FAILED, REFUNDED = "captured", "pending", "failed", "refunded"
STATUSES = (CAPTURED, PENDING, FAILED, REFUNDED)


@dataclass(frozen=True)
class Charge:
    """The provider's word on one charge."""

    reference: str
    status: str
    amount: int
    currency: str


class ChargePending(GatewayError):
    """The provider has the charge but has not captured it yet: wait for its webhook, or ask again."""

    code = ChargeErrorCode.CHARGE_NOT_CAPTURED


def charge_check(charge: Charge, *, amount: int, currency: str) -> Charge:
    """`charge` if it funds `amount` `currency`; `ChargePending` or `GatewayRejected` otherwise."""
    if charge.status == PENDING:
        raise ChargePending(f"charge {charge.reference} is not captured yet")
    if charge.status == FAILED:
        raise GatewayRejected(f"charge {charge.reference} was declined", code=ChargeErrorCode.CHARGE_DECLINED)
    if charge.status != CAPTURED:
        raise GatewayRejected(
            f"charge {charge.reference} is {charge.status}, not captured", code=ChargeErrorCode.CHARGE_NOT_CAPTURED
        )
    if charge.amount != amount or charge.currency != currency:
        raise GatewayRejected(
            f"charge {charge.reference} is for {charge.amount} {charge.currency}, not {amount} {currency}",
            code=ChargeErrorCode.CHARGE_MISMATCH,
        )
    return charge


def _refund_arguments(*, source_reference: str, amount: int, reference: str) -> None:
    if not (source_reference or "").strip():
        raise GatewayRejected("the refund has no charge reference", code=ChargeErrorCode.REFUND_REJECTED)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise GatewayRejected("a refund amount must be a positive integer", code=ChargeErrorCode.REFUND_REJECTED)
    if not (reference or "").strip():
        raise GatewayRejected("a refund needs an idempotency reference", code=ChargeErrorCode.REFUND_REJECTED)


class FundingGateway:
    """What the funding saga calls. `provider` names the provider in the charge claims (one use of a
    charge per provider and reference)."""

    name = "funding"
    provider = "funding"

    def charge_get(self, *, reference: str, amount: int, currency: str) -> Charge:
        raise NotImplementedError

    def confirm(self, *, source: str, source_reference: str, amount: int, currency: str) -> Charge:
        reference = (source_reference or "").strip()
        if not reference:
            raise GatewayRejected("the funding has no charge reference", code=ChargeErrorCode.CHARGE_NOT_FOUND)
        return charge_check(
            self.charge_get(reference=reference, amount=amount, currency=currency), amount=amount, currency=currency
        )

    def refund(self, *, source: str, source_reference: str, amount: int, currency: str, reference: str) -> None:
        raise NotImplementedError


# --- the sandbox ----------------------------------------------------------------------------------

# Test tokens: `ch_test_<kind>` or `ch_test_<kind>_<anything>` (so every credit can use a fresh charge:
# a charge funds once). Documented in the README.
SANDBOX_PREFIX = "ch_test_"
SANDBOX_TOKENS = {
    "ok": "captured for whatever amount and currency the credit states",
    "declined": "declined by the card network (`charge_declined`)",
    "late": "pending at first; the sandbox's signed `charge.captured` webhook arrives after "
    "FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS",
    "pending": "pending for ever: the saga waits FUNDING_CONFIRM_TIMEOUT_SECONDS, then refunds and fails",
    "mismatch": "captured, but for one minor unit more than the credit states (`charge_mismatch`)",
}


def sandbox_kind(reference: str) -> str | None:
    """The test token's kind (`ok`, `declined` …), or None when `reference` is no test token."""
    if not reference.startswith(SANDBOX_PREFIX):
        return None
    kind, _, _rest = reference[len(SANDBOX_PREFIX) :].partition("_")
    return kind if kind in SANDBOX_TOKENS else None


class SandboxFundingGateway(FundingGateway):
    """The built-in sandbox provider: no network, no money, documented test tokens only."""

    name = "funding-sandbox"
    provider = "sandbox"

    def charge_get(self, *, reference: str, amount: int, currency: str) -> Charge:
        kind = sandbox_kind(reference)
        if kind is None:
            raise GatewayRejected(
                f"the sandbox knows no charge {reference!r}; use a test token ({SANDBOX_PREFIX}ok_…)",
                code=ChargeErrorCode.CHARGE_NOT_FOUND,
            )
        if kind == "ok":
            return Charge(reference, CAPTURED, amount, currency)
        if kind == "mismatch":
            return Charge(reference, CAPTURED, amount + 1, currency)
        if kind == "declined":
            return Charge(reference, FAILED, amount, currency)
        if kind == "late":
            from sagas import hooks  # the hook receiver imports the gateways

            hooks.sandbox_capture_schedule(charge=Charge(reference, CAPTURED, amount, currency))
        return Charge(reference, PENDING, amount, currency)

    def refund(self, *, source: str, source_reference: str, amount: int, currency: str, reference: str) -> None:
        # Nothing was charged, so nothing is given back; the arguments are checked as a provider would.
        _refund_arguments(source_reference=source_reference, amount=amount, reference=reference)


# --- a provider over HTTP -------------------------------------------------------------------------


class HttpFundingGateway(HttpGateway, FundingGateway):
    name = "funding-http"

    def __init__(self, endpoint: str, *, provider: str = "", tries: int | None = None, **kwargs):
        super().__init__(endpoint, **kwargs)
        self.provider = provider or urlsplit(self.endpoint).hostname or self.endpoint
        self.tries = max(1, settings.FUNDING_HTTP_TRIES if tries is None else tries)

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """`request`, tried again on a transient failure (a lookup is safe to repeat; a refund
        carries its idempotency key)."""
        for attempt in range(1, self.tries + 1):
            try:
                return self.request(method, path, **kwargs)
            except GatewayUnavailable:
                if attempt == self.tries:
                    raise
                time.sleep(min(0.1 * 2 ** (attempt - 1), 1.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def charge_get(self, *, reference: str, amount: int, currency: str) -> Charge:
        try:
            body = self._call("GET", f"/charges/{quote(reference, safe='')}")
        except GatewayRejected as exc:
            if exc.status == 404:
                raise GatewayRejected(
                    f"the provider has no charge {reference!r}", code=ChargeErrorCode.CHARGE_NOT_FOUND, status=404
                ) from exc
            raise
        status, charge_amount, charge_currency = body.get("status"), body.get("amount"), body.get("currency")
        if (
            status not in STATUSES
            or isinstance(charge_amount, bool)
            or not isinstance(charge_amount, int)
            or not isinstance(charge_currency, str)
        ):
            raise GatewayUnavailable(f"{self.name}: unusable charge {body!r}")
        if body.get("id") not in (None, reference):
            raise GatewayUnavailable(f"{self.name}: asked for charge {reference!r}, answered {body.get('id')!r}")
        return Charge(reference, status, charge_amount, charge_currency.upper())

    def refund(self, *, source: str, source_reference: str, amount: int, currency: str, reference: str) -> None:
        _refund_arguments(source_reference=source_reference, amount=amount, reference=reference)
        try:
            self._call(
                "POST",
                f"/charges/{quote(source_reference, safe='')}/refunds",
                json={"amount": amount, "currency": currency, "reference": reference},
                headers={"Idempotency-Key": reference},
            )
        except GatewayRejected as exc:
            if exc.status == 404:
                return  # a charge the provider never took: nothing to give back
            raise
