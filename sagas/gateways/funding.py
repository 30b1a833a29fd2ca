"""Funding confirmation: does the payment provider confirm this charge? The built-in gateway
accepts any non-empty reference as confirmed (there is no card network here)."""

from __future__ import annotations

from .base import GatewayRejected


class AcceptingFundingGateway:
    name = "funding-accept"

    def confirm(self, *, source: str, source_reference: str, amount: int, currency: str) -> None:
        if not (source_reference or "").strip():
            raise GatewayRejected("the funding has no reference to confirm", code="funding_declined")
