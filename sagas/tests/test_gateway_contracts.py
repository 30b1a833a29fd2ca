"""Contract tests of the FX and settlement HTTP gateways against a real HTTP server on loopback.

`test_gateways.py` maps answers through `httpx.MockTransport`; here the bytes cross a socket, so the
wire contract is what is checked: method, path (under the endpoint's own path), query, headers and
JSON body of each request; the configured timeout against a server that stalls; one request per
call (the gateways never retry: the saga retries `GatewayUnavailable` with backoff, and compensates
on `GatewayRejected`); and how statuses and bodies map to those two errors.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sagas import gateways
from sagas.gateways import GatewayRejected, GatewayUnavailable
from sagas.gateways.fx import HttpFxGateway
from sagas.gateways.settlement import HttpSettlementGateway
from sagas.tests.conftest import UNREACHABLE, LocalService

STALL_SECONDS = 1.5
TIMEOUT_SECONDS = 0.3


@pytest.fixture(scope="module")
def _server():
    # One server for the module: stopping one waits out its half-second poll.
    with LocalService() as service:
        yield service


@pytest.fixture
def stub(_server):
    """The stub service with no routes (anything unrouted answers 404 not_found) and no requests yet."""
    _server.routes.clear()
    _server.requests.clear()
    return _server


def answer(status: int, body: object):
    return lambda request: (status, body)


def stalling(request):
    time.sleep(STALL_SECONDS)
    return 200, {"status": "PAID", "rate": "1.1"}


# How a status or a body maps to the gateways' errors, for every HTTP gateway.
TRANSIENT = [
    pytest.param(500, {"error": "boom"}, id="500"),
    pytest.param(502, b"<html>bad gateway</html>", id="502-html"),
    pytest.param(503, {}, id="503"),
    pytest.param(504, {}, id="504"),
    pytest.param(429, {"code": "slow_down"}, id="429"),
    pytest.param(200, b"{not json", id="malformed-json"),
    pytest.param(200, b"", id="empty-body"),
    pytest.param(200, ["a", "list"], id="json-not-an-object"),
]
REJECTED = [
    pytest.param(400, {"code": "invalid_request"}, "invalid_request", id="400-with-code"),
    pytest.param(404, {"code": "not_found"}, "not_found", id="404-with-code"),
    pytest.param(409, {"code": 7}, "gateway_rejected", id="409-code-not-a-string"),
    pytest.param(422, b"<html>no</html>", "gateway_rejected", id="422-not-json"),
    pytest.param(403, ["forbidden"], "gateway_rejected", id="403-json-not-an-object"),
]


# --- FX: GET {FX_SERVICE_ENDPOINT}/quotes?base=…&quote=… ---------------------------------------


def test_fx_quote_request_shape_and_answer(stub, settings):
    stub.routes[("GET", "/fx/quotes")] = answer(200, {"rate": "0.9215", "quote_id": "q-1", "source": "ecb"})
    settings.FX_SERVICE_ENDPOINT = f"{stub.url}/fx/"  # a path prefix, with a trailing slash

    quote = gateways.fx_gateway().quote(base="USD", quote="EUR")

    assert (quote.base, quote.quote, quote.rate, quote.source, quote.quote_id) == (
        "USD",
        "EUR",
        Decimal("0.9215"),
        "ecb",
        "q-1",
    )
    [request] = stub.requests
    assert (request["method"], request["path"], request["query"]) == (
        "GET",
        "/fx/quotes",
        {"base": "USD", "quote": "EUR"},
    )
    assert request["json"] is None
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["host"] == stub.url.removeprefix("http://")
    assert "content-length" not in headers or headers["content-length"] == "0"


def test_fx_quote_without_source_or_id_names_the_gateway(stub):
    stub.routes[("GET", "/quotes")] = answer(200, {"rate": 150})
    quote = HttpFxGateway(stub.url).quote(base="USD", quote="JPY")
    assert (quote.rate, quote.source, quote.quote_id) == (Decimal("150"), "fx-http", "")


@pytest.mark.parametrize(("status", "body"), TRANSIENT)
def test_fx_transient_answers_are_unavailable_after_one_request(stub, status, body):
    stub.routes[("GET", "/quotes")] = answer(status, body)
    with pytest.raises(GatewayUnavailable):
        HttpFxGateway(stub.url).quote(base="USD", quote="EUR")
    assert len(stub.requests) == 1, "the gateway does not retry; the saga does"


@pytest.mark.parametrize(("status", "body", "code"), REJECTED)
def test_fx_client_errors_are_rejections_with_the_services_code(stub, status, body, code):
    stub.routes[("GET", "/quotes")] = answer(status, body)
    with pytest.raises(GatewayRejected) as info:
        HttpFxGateway(stub.url).quote(base="USD", quote="EUR")
    assert info.value.code == code
    assert len(stub.requests) == 1


@pytest.mark.parametrize("rate", ["abc", "-1", "0", "NaN", None])
def test_fx_an_unusable_rate_is_unavailable(stub, rate):
    stub.routes[("GET", "/quotes")] = answer(200, {"rate": rate})
    with pytest.raises(GatewayUnavailable, match="unusable quote"):
        HttpFxGateway(stub.url).quote(base="USD", quote="EUR")


def test_fx_a_stalled_service_times_out_after_gateway_timeout_seconds(stub, settings):
    settings.GATEWAY_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    stub.routes[("GET", "/quotes")] = stalling
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable, match="ReadTimeout"):
        HttpFxGateway(stub.url).quote(base="USD", quote="EUR")
    assert time.monotonic() - started < STALL_SECONDS - 0.3, "gave up at the timeout, not when the server answered"
    assert len(stub.requests) == 1


def test_fx_a_refused_connection_is_unavailable():
    with pytest.raises(GatewayUnavailable, match="ConnectError"):
        HttpFxGateway(UNREACHABLE).quote(base="USD", quote="EUR")


# --- Settlement: POST /payouts (Idempotency-Key) and GET /payouts/{reference} ------------------


PAYOUT = {"reference": "saga-7f3c", "amount": 125_00, "currency": "USD", "destination": "acct_123"}


def test_payout_request_shape(stub, settings):
    stub.routes[("POST", "/settle/payouts")] = answer(202, {"status": "PENDING", "id": "po_1"})
    settings.SETTLEMENT_SERVICE_ENDPOINT = f"{stub.url}/settle"

    assert gateways.settlement_gateway().payout_request(**PAYOUT) == "PENDING"

    [request] = stub.requests
    assert (request["method"], request["path"], request["query"]) == ("POST", "/settle/payouts", {})
    assert request["json"] == PAYOUT
    assert isinstance(request["json"]["amount"], int), "amounts cross the wire as integer minor units"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["idempotency-key"] == "saga-7f3c"
    assert headers["content-type"] == "application/json"


def test_a_repeated_payout_request_carries_the_same_idempotency_key(stub):
    stub.routes[("POST", "/payouts")] = answer(200, {"status": "PENDING"})
    gateway = HttpSettlementGateway(stub.url)
    gateway.payout_request(**PAYOUT)
    gateway.payout_request(**PAYOUT)
    keys = [{k.lower(): v for k, v in r["headers"].items()}["idempotency-key"] for r in stub.requests]
    assert keys == ["saga-7f3c", "saga-7f3c"]
    assert stub.requests[0]["json"] == stub.requests[1]["json"]


@pytest.mark.parametrize("status", ["PENDING", "PAID", "FAILED"])
def test_payout_status_request_shape_and_answer(stub, status):
    stub.routes[("GET", "/payouts/saga-7f3c")] = answer(200, {"status": status})
    assert HttpSettlementGateway(stub.url).payout_status(reference="saga-7f3c") == status
    [request] = stub.requests
    assert (request["method"], request["path"], request["json"]) == ("GET", "/payouts/saga-7f3c", None)


@pytest.mark.parametrize("body", [{"status": "SETTLED"}, {"status": None}, {}, {"status": "paid"}])
def test_an_unknown_payout_status_is_unavailable(stub, body):
    stub.routes[("GET", "/payouts/r1")] = answer(200, body)
    stub.routes[("POST", "/payouts")] = answer(200, body)
    gateway = HttpSettlementGateway(stub.url)
    with pytest.raises(GatewayUnavailable, match="unknown payout status"):
        gateway.payout_status(reference="r1")
    with pytest.raises(GatewayUnavailable, match="unknown payout status"):
        gateway.payout_request(**{**PAYOUT, "reference": "r1"})


@pytest.mark.parametrize(("status", "body"), TRANSIENT)
def test_payout_transient_answers_are_unavailable_after_one_request(stub, status, body):
    stub.routes[("POST", "/payouts")] = answer(status, body)
    stub.routes[("GET", "/payouts/saga-7f3c")] = answer(status, body)
    gateway = HttpSettlementGateway(stub.url)
    with pytest.raises(GatewayUnavailable):
        gateway.payout_request(**PAYOUT)
    with pytest.raises(GatewayUnavailable):
        gateway.payout_status(reference="saga-7f3c")
    assert [r["method"] for r in stub.requests] == ["POST", "GET"], "one request each, no retry"


@pytest.mark.parametrize(("status", "body", "code"), REJECTED)
def test_payout_client_errors_are_rejections_with_the_services_code(stub, status, body, code):
    stub.routes[("POST", "/payouts")] = answer(status, body)
    with pytest.raises(GatewayRejected) as info:
        HttpSettlementGateway(stub.url).payout_request(**PAYOUT)
    assert info.value.code == code
    assert len(stub.requests) == 1


def test_an_unknown_payout_is_a_rejection(stub):
    # No route: the stub answers 404 {"code": "not_found"}, as a settlement service that never saw it.
    with pytest.raises(GatewayRejected) as info:
        HttpSettlementGateway(stub.url).payout_status(reference="never-sent")
    assert info.value.code == "not_found"


def test_payout_a_stalled_service_times_out_after_gateway_timeout_seconds(stub, settings):
    settings.GATEWAY_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    stub.routes[("POST", "/payouts")] = stalling
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable, match="ReadTimeout"):
        HttpSettlementGateway(stub.url).payout_request(**PAYOUT)
    assert time.monotonic() - started < STALL_SECONDS - 0.3
    assert len(stub.requests) == 1


def test_payout_a_refused_connection_is_unavailable():
    with pytest.raises(GatewayUnavailable, match="ConnectError"):
        HttpSettlementGateway(UNREACHABLE).payout_status(reference="r1")
