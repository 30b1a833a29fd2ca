"""Funding with the payment provider: does it confirm this charge, and will it give a confirmed charge
back (`refund`, when the credit is refused after the charge was taken)? The built-in gateway accepts
any non-empty reference as confirmed and any well-formed refund (there is no card network here).
`refund`'s `reference` (derived from the saga's id) is its idempotency key: a provider answers a
retried refund as the one refund it already made, and a refund of a charge it never took (a
confirmation that got no answer because the charge never happened) as done, with nothing to give back."""

from __future__ import annotations

from .base import GatewayRejected


class AcceptingFundingGateway:
    name = "funding-accept"

    def confirm(self, *, source: str, source_reference: str, amount: int, currency: str) -> None:
        if not (source_reference or "").strip():
            raise GatewayRejected("the funding has no reference to confirm", code="funding_declined")

    def refund(self, *, source: str, source_reference: str, amount: int, currency: str, reference: str) -> None:
        if not (source_reference or "").strip():
            raise GatewayRejected("the refund has no charge reference", code="refund_rejected")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise GatewayRejected("a refund amount must be a positive integer", code="refund_rejected")
        if not (reference or "").strip():
            raise GatewayRejected("a refund needs an idempotency reference", code="refund_rejected")
