"""FX quotes: the built-in rates table (`FxRate`, managed in the admin) or a remote FX service."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from crowdpay.gateways import GatewayRejected, GatewayUnavailable, HttpGateway
from wallets.errors import LedgerError
from wallets.fx import Quote

from ..models import FxRate

FX_RATE_UNAVAILABLE = "fx_rate_unavailable"


class TableFxGateway:
    """Rates from the `FxRate` table; when only the opposite pair is set, its inverse."""

    name = "fx-table"

    def quote(self, *, base: str, quote: str) -> Quote:
        direct = FxRate.objects.filter(base=base, quote=quote).first()
        if direct is not None:
            return Quote(base, quote, direct.rate, direct.source, f"fxrate:{direct.pk}:{direct.updated_at.isoformat()}")
        inverse = FxRate.objects.filter(base=quote, quote=base).first()
        if inverse is not None:
            rate = (Decimal(1) / inverse.rate).quantize(Decimal("1e-12"))
            return Quote(base, quote, rate, f"{inverse.source} (inverse)", f"fxrate:{inverse.pk}:inverse")
        raise GatewayRejected(f"no FX rate for {base}/{quote}", code=FX_RATE_UNAVAILABLE)


class HttpFxGateway(HttpGateway):
    """`GET {FX_SERVICE_ENDPOINT}/quotes?base=USD&quote=EUR` answering
    `{"rate": "0.92", "quote_id": "...", "source": "..."}`; the rate is a decimal string."""

    name = "fx-http"

    def quote(self, *, base: str, quote: str) -> Quote:
        body = self.request("GET", "/quotes", params={"base": base, "quote": quote})
        try:
            rate = Decimal(str(body["rate"]))
            return Quote(base, quote, rate, str(body.get("source") or self.name), str(body.get("quote_id") or ""))
        except (KeyError, InvalidOperation, LedgerError) as exc:
            raise GatewayUnavailable(f"fx-http: unusable quote {body!r}") from exc
