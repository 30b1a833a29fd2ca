"""Contract test of the remote risk service client (`compliance.risk.remote_score`) against a real
HTTP server on loopback.

`test_screening.py` proves what screening decides with a remote score; here the wire contract is
checked without a database: `POST {RISK_SERVICE_ENDPOINT}/score` with a JSON body of the operation
and the rule score, a timeout of RISK_SERVICE_TIMEOUT_SECONDS against a server that stalls, one
request per assessment (no retry: the rules decide at once instead), and how every failure maps to
the typed fallback (`source="rules-fallback"`, the error's type named in the last reason).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from compliance import risk
from sagas.tests.conftest import UNREACHABLE, LocalService

STALL_SECONDS = 1.5

WALLET, OWNER, OTHER, SAGA = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


@pytest.fixture(scope="module")
def _server():
    with LocalService() as service:
        yield service


@pytest.fixture
def stub(_server, settings):
    """The stub service as the configured risk endpoint, with no routes and no requests yet."""
    _server.routes.clear()
    _server.requests.clear()
    settings.RISK_SERVICE_ENDPOINT = f"{_server.url}/risk/"
    return _server


def subject(*, counterparty: uuid.UUID | None = OTHER, saga_id: uuid.UUID | None = SAGA) -> risk.Subject:
    facts = risk.Facts(young=True, recent_screenings=0, currency_known=True, counterparty_seen=False)
    return risk.Subject(
        operation="transfer",
        wallet_id=WALLET,
        owner_id=OWNER,
        amount=25_00,
        currency="EUR",
        counterparty_wallet_id=counterparty,
        saga_id=saga_id,
        now=datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        facts=facts,
    )


RULES = risk.Score(score=25, reasons=("young", "new counterparty"), signals=("young_wallet", "new_counterparty"))


def test_the_request_shape_and_a_score(stub):
    stub.routes[("POST", "/risk/score")] = lambda request: (200, {"score": 42, "reasons": ["device", 7]})

    score = risk.remote_score(subject(), RULES)

    assert score == risk.Score(score=42, reasons=("device", "7"), signals=RULES.signals, source="remote")
    [request] = stub.requests
    assert (request["method"], request["path"], request["query"]) == ("POST", "/risk/score", {})
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert request["json"] == {
        "operation": "transfer",
        "wallet_id": str(WALLET),
        "owner_id": str(OWNER),
        "amount": 25_00,
        "currency": "EUR",
        "counterparty_wallet_id": str(OTHER),
        "saga_id": str(SAGA),
        "rules": {"score": 25, "signals": ["young_wallet", "new_counterparty"]},
    }


def test_absent_ids_are_null_and_reasons_are_optional(stub):
    stub.routes[("POST", "/risk/score")] = lambda request: (200, {"score": 0})
    score = risk.remote_score(subject(counterparty=None, saga_id=None), RULES)
    assert (score.score, score.reasons, score.source) == (0, (), "remote")
    body = stub.requests[0]["json"]
    assert body["counterparty_wallet_id"] is None and body["saga_id"] is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(400, {"code": "bad_request"}, "HTTPStatusError", id="400"),
        pytest.param(404, {}, "HTTPStatusError", id="404"),
        pytest.param(422, b"<html>no</html>", "HTTPStatusError", id="422-html"),
        pytest.param(429, {}, "HTTPStatusError", id="429"),
        pytest.param(500, {"score": 10}, "HTTPStatusError", id="500-even-with-a-score"),
        pytest.param(503, b"", "HTTPStatusError", id="503"),
        pytest.param(200, b"{not json", "JSONDecodeError", id="malformed-json"),
        pytest.param(200, ["a", "list"], "TypeError", id="json-not-an-object"),
        pytest.param(200, {"reasons": ["x"]}, "KeyError", id="no-score"),
        pytest.param(200, {"score": True}, "ValueError", id="boolean-score"),
        pytest.param(200, {"score": 50.5}, "ValueError", id="fractional-score"),
        pytest.param(200, {"score": -1}, "ValueError", id="below-0"),
        pytest.param(200, {"score": 101}, "ValueError", id="above-100"),
        pytest.param(200, {"score": 10, "reasons": 5}, "TypeError", id="reasons-not-a-list"),
    ],
)
def test_every_failure_falls_back_to_the_rules_after_one_request(stub, status, body, error):
    stub.routes[("POST", "/risk/score")] = lambda request: (status, body)

    score = risk.remote_score(subject(), RULES)

    assert (score.score, score.signals, score.source) == (25, RULES.signals, "rules-fallback")
    assert score.reasons[:-1] == RULES.reasons
    assert score.reasons[-1] == f"remote risk service unavailable ({error}); rule score used"
    assert len(stub.requests) == 1, "no retry: the rule score decides at once"


def test_a_stalled_service_times_out_after_risk_service_timeout_seconds(stub, settings):
    settings.RISK_SERVICE_TIMEOUT_SECONDS = 0.3

    def stall(request):
        time.sleep(STALL_SECONDS)
        return 200, {"score": 99}

    stub.routes[("POST", "/risk/score")] = stall
    started = time.monotonic()
    score = risk.remote_score(subject(), RULES)
    assert time.monotonic() - started < STALL_SECONDS - 0.3, "gave up at the timeout, not when the server answered"
    assert (score.score, score.source) == (25, "rules-fallback")
    assert "ReadTimeout" in score.reasons[-1]
    assert len(stub.requests) == 1


def test_a_refused_connection_falls_back(settings):
    settings.RISK_SERVICE_ENDPOINT = UNREACHABLE
    score = risk.remote_score(subject(), RULES)
    assert score.source == "rules-fallback" and "ConnectError" in score.reasons[-1]


def test_assess_asks_the_remote_service_only_when_an_endpoint_is_set(stub, settings):
    stub.routes[("POST", "/risk/score")] = lambda request: (200, {"score": 70})
    assert risk.assess(subject()).source == "remote"
    settings.RISK_SERVICE_ENDPOINT = ""
    assert risk.assess(subject()).source == "rules"
    assert len(stub.requests) == 1
