"""The gateways' HTTP implementations against httpx.MockTransport, and the built-in ones."""

from decimal import Decimal

import httpx
import pytest

from sagas import gateways
from sagas.gateways import GatewayRejected, GatewayUnavailable
from sagas.gateways.funding import SandboxFundingGateway
from sagas.gateways.fx import HttpFxGateway, TableFxGateway
from sagas.gateways.settlement import HttpSettlementGateway, QueueSettlementGateway
from sagas.models import FxRate, Payout


def transport(status=200, body=None, *, raw: bytes | None = None, error: Exception | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if error is not None:
            raise error
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


def fx(**kw) -> HttpFxGateway:
    return HttpFxGateway("http://fx.invalid/", transport=transport(**kw))


def test_an_http_quote_is_read_as_a_decimal():
    quote = fx(body={"rate": "1.0825", "quote_id": "q1", "source": "ecb"}).quote(base="EUR", quote="USD")
    assert (quote.rate, quote.quote_id, quote.source) == (Decimal("1.0825"), "q1", "ecb")


@pytest.mark.parametrize(
    "kw",
    [
        {"status": 503, "body": {}},
        {"status": 429, "body": {}},
        {"error": httpx.ReadTimeout("slow")},
        {"error": httpx.ConnectError("refused")},
        {"raw": b"<html>oops</html>"},
        {"body": ["not", "an", "object"]},
        {"body": {"rate": "abc"}},
        {"body": {"rate": "-1"}},
        {"body": {}},
    ],
)
def test_transient_or_unusable_answers_are_unavailable(kw):
    with pytest.raises(GatewayUnavailable):
        fx(**kw).quote(base="EUR", quote="USD")


def test_a_client_error_is_a_rejection_with_the_services_code():
    with pytest.raises(GatewayRejected) as info:
        fx(status=404, body={"code": "pair_not_quoted"}).quote(base="EUR", quote="USD")
    assert info.value.code == "pair_not_quoted"
    with pytest.raises(GatewayRejected) as info:
        fx(status=400, raw=b"bad").quote(base="EUR", quote="USD")
    assert info.value.code == "gateway_rejected"


def test_the_timeout_comes_from_the_settings(settings):
    settings.GATEWAY_TIMEOUT_SECONDS = 1.5
    assert HttpFxGateway("http://fx.invalid").timeout == 1.5


def test_settlement_over_http_reads_the_payout_status():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "PAID"})

    gateway = HttpSettlementGateway("http://settle.invalid", transport=httpx.MockTransport(handler))
    assert gateway.payout_request(reference="r1", amount=1, currency="USD", destination="d") == "PAID"
    assert gateway.payout_status(reference="r1") == "PAID"
    assert seen[0].headers["Idempotency-Key"] == "r1"
    assert seen[1].url.path == "/payouts/r1"
    with pytest.raises(GatewayUnavailable):
        HttpSettlementGateway("http://s.invalid", transport=transport(body={"status": "WEIRD"})).payout_status(
            reference="r1"
        )


def test_the_settings_choose_the_implementation(settings):
    settings.FX_SERVICE_ENDPOINT = ""
    settings.SETTLEMENT_SERVICE_ENDPOINT = ""
    assert isinstance(gateways.fx_gateway(), TableFxGateway)
    assert isinstance(gateways.settlement_gateway(), QueueSettlementGateway)
    settings.FX_SERVICE_ENDPOINT = "http://fx.example"
    settings.SETTLEMENT_SERVICE_ENDPOINT = "http://settle.example"
    assert isinstance(gateways.fx_gateway(), HttpFxGateway)
    assert isinstance(gateways.settlement_gateway(), HttpSettlementGateway)
    assert isinstance(gateways.funding_gateway(), SandboxFundingGateway)


@pytest.mark.django_db
def test_the_rates_table_quotes_direct_and_inverse_pairs():
    FxRate.objects.create(base="USD", quote="JPY", rate=Decimal("150"), source="admin")
    table = TableFxGateway()
    assert table.quote(base="USD", quote="JPY").rate == Decimal("150")
    inverse = table.quote(base="JPY", quote="USD")
    assert inverse.rate == Decimal("0.006666666667") and inverse.source == "admin (inverse)"
    with pytest.raises(GatewayRejected) as info:
        table.quote(base="USD", quote="GBP")
    assert info.value.code == "fx_rate_unavailable"


@pytest.mark.django_db
def test_the_payout_queue_takes_each_reference_once():
    queue = QueueSettlementGateway()
    assert queue.payout_request(reference="p1", amount=5, currency="USD", destination="d") == "PENDING"
    assert queue.payout_request(reference="p1", amount=5, currency="USD", destination="d") == "PENDING"
    assert Payout.objects.count() == 1
    assert queue.payout_status(reference="p1") == "PENDING"
    with pytest.raises(GatewayUnavailable):
        queue.payout_status(reference="missing")


def test_the_sandbox_funding_gateway_confirms_its_test_tokens_only():
    charge = SandboxFundingGateway().confirm(source="CARD", source_reference="ch_test_ok_1", amount=1, currency="USD")
    assert (charge.status, charge.amount, charge.currency) == ("captured", 1, "USD")
    for reference in ("", "ch_1", "x", "ch_test_", "ch_test_okay"):
        with pytest.raises(GatewayRejected) as info:
            SandboxFundingGateway().confirm(source="CARD", source_reference=reference, amount=1, currency="USD")
        assert info.value.code == "charge_not_found"


def test_the_sandbox_funding_gateway_refunds_a_well_formed_charge():
    refund = {"source": "CARD", "source_reference": "ch_1", "amount": 1, "currency": "USD", "reference": "saga:1:r"}
    assert SandboxFundingGateway().refund(**refund) is None
    bad_arguments = [{"source_reference": " "}, {"amount": 0}, {"amount": -5}, {"amount": "5"}, {"amount": True}]
    for bad in [*bad_arguments, {"reference": ""}]:
        with pytest.raises(GatewayRejected) as info:
            SandboxFundingGateway().refund(**{**refund, **bad})
        assert info.value.code == "refund_rejected"


def test_the_wallets_read_rates_from_the_fx_gateway_this_app_registers(db, settings):
    """`wallets.fx.rate_source` is this app's FX gateway, registered at start-up (the ledger never
    imports sagas): the configured one, or with `local` the rates table (no network call)."""
    from wallets.fx import rate_source

    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.9"))
    assert isinstance(rate_source(), TableFxGateway)
    assert rate_source().quote(base="USD", quote="EUR").rate == Decimal("0.9")
    settings.FX_SERVICE_ENDPOINT = "http://fx.invalid"
    assert isinstance(rate_source(), HttpFxGateway)  # built when asked: the settings of the moment
    assert isinstance(rate_source(local=True), TableFxGateway)
