"""Fuzzing: schemathesis drives every operation of `/api/schema/` with generated requests (valid
token, real wallet and operation ids): no 5xx, and every response matches the schema. Then hostile
bodies, each refused with a 4xx problem+json and nothing written.

RELIABILITY_FUZZ_EXAMPLES sets the examples per operation (`make reliability` raises it)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crowdpay.api.parsers import contains_nul
from crowdpay.models import IdempotencyKey
from crowdpay.tests.fixtures import bearer
from sagas.models import Saga
from wallets.models import Balance, Event, JournalEntry, Wallet

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "15"))
FIGURES: dict[str, int] = {"requests": 0, "5xx": 0}


@pytest.fixture
def api_schema(db):
    # The WSGI app fires request_started/finished, whose handler would close the test's
    # connection (and its transaction); Django's own test client detaches it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_caller(db, settings):
    settings.API_WRITE_THROTTLE_RATE = "100000/minute"
    from sagas import services as saga_services
    from wallets.tests.factories import funded

    owner = uuid.uuid4()
    wallet = funded(amount=1000_00, owner_id=owner)
    operation = saga_services.funding_start(
        wallet_id=wallet.id, amount=1_00, currency="USD", source="CARD",
        source_reference=f"ch_test_ok_{uuid.uuid4().hex}", reference=f"fuzz-{uuid.uuid4()}", requested_by=str(owner),
    )  # fmt: skip
    return {"token": bearer(owner), "wallet": str(wallet.id), "operation": str(operation.id)}


def _fuzz(operation, caller) -> None:
    # (schemathesis's pytest plugin does not run under pytest 9: drive its strategies with hypothesis)
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def one(case):
        # Real ids half of the time, so generation reaches past the 404 of a random UUID.
        for name, real in (("wallet_id", caller["wallet"]), ("operation_id", caller["operation"])):
            if case.path_parameters and name in case.path_parameters and len(str(case.body)) % 2 == 0:
                case.path_parameters[name] = real
        headers = {"Authorization": caller["token"], "Idempotency-Key": str(uuid.uuid4())}
        response = case.call(headers=headers)
        FIGURES["requests"] += 1
        FIGURES["5xx"] += response.status_code >= 500
        assert response.status_code < 500, response.text
        # positive_data_acceptance expects every schema-valid body to succeed; domain rules the schema
        # cannot state (an unknown ISO code, a wallet id that does not exist) rightly answer 4xx.
        case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
        if response.status_code >= 400:
            content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
            assert content_type[0].startswith("application/problem+json"), (response.status_code, content_type)

    one()


def test_every_operation_answers_within_its_schema(api_schema, fuzz_caller):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        _fuzz(operation, fuzz_caller)


def test_fuzz_figures(capsys):
    """Printed for the report (runs after the generated cases in this module)."""
    with capsys.disabled():
        print(f"\nfuzz: {FIGURES['requests']} generated requests, {FIGURES['5xx']} answered 5xx")
    assert FIGURES["5xx"] == 0


# --- hostile bodies -----------------------------------------------------------------------------

CONTROL = "".join(chr(c) for c in range(32)) + "\u2028\u202e\ufeff"
HOSTILE = [
    ("malformed JSON", '{"amount": 100, "currency": "USD",', 400),
    ("not an object", "[1, 2, 3]", 400),
    ("JSON null", "null", 400),
    ("amount huge", {"amount": 10**30, "currency": "USD"}, 400),
    ("amount above the bound", {"amount": 10**15 + 1, "currency": "USD"}, 400),
    ("amount negative", {"amount": -500, "currency": "USD"}, 400),
    ("amount zero", {"amount": 0, "currency": "USD"}, 400),
    ("amount fractional", {"amount": 10.5, "currency": "USD"}, 400),
    ("amount as float integer", {"amount": 100.0, "currency": "USD"}, 400),
    ("amount as string", {"amount": "100", "currency": "USD"}, 400),
    ("amount boolean", {"amount": True, "currency": "USD"}, 400),
    ("amount NaN", '{"amount": NaN, "currency": "USD"}', 400),
    ("amount Infinity", '{"amount": Infinity, "currency": "USD"}', 400),
    ("amount exponent", '{"amount": 1e400, "currency": "USD"}', 400),
    ("unknown currency", {"amount": 100, "currency": "XYZ"}, 400),
    ("fund currency", {"amount": 100, "currency": "XXX"}, 400),
    ("lower-case currency", {"amount": 100, "currency": "usd"}, 400),
    ("currency with control chars", {"amount": 100, "currency": "U\x00D"}, 400),
    ("deeply nested", "[" * 5000 + "]" * 5000, 400),
]


def _post(api, path, body, key):
    data = body if isinstance(body, str) else json.dumps(body)
    return api.post(path, data=data, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _counts():
    return tuple(m.objects.count() for m in (Wallet, Balance, Event, JournalEntry, Saga, IdempotencyKey))


def _assert_problem(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"]


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "body", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_money_bodies_are_refused_and_write_nothing(api, caller_wallet, label, body, status):
    other = Wallet.objects.create(owner_id=uuid.uuid4(), kind="USER", base_currency="USD")
    before = _counts()
    for path, extra in (
        (f"/v1/wallets/{caller_wallet.id}/credit", {"source": "CARD", "reference": "ch_1"}),
        (f"/v1/wallets/{caller_wallet.id}/debit", {"destination": "iban:X"}),
        ("/v1/transfer", {"from_wallet_id": str(caller_wallet.id), "to_wallet_id": str(other.id)}),
    ):
        payload = {**extra, **body} if isinstance(body, dict) else body
        _assert_problem(_post(api, path, payload, f"hostile-{uuid.uuid4()}"), status)
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata",
    [
        {"note": CONTROL.replace("\x00", "")},
        {"note": "nul \x00 inside"},
        {"nul\x00key": "x"},
        {"k" * 300: "long key"},
        {"note": "x" * 20_000},
        {"nested": {"a": {"b": {"c": ["x" * 4000] * 5}}}},
    ],
    ids=["control characters", "NUL in a value", "NUL in a key", "long key", "long value", "over 16 KiB nested"],
)
def test_wallet_metadata_is_bounded(api, metadata):
    before = _counts()
    response = _post(api, "/v1/wallets", {"base_currency": "USD", "metadata": metadata}, str(uuid.uuid4()))
    size = len(json.dumps(metadata, separators=(",", ":")))
    if size > 16 * 1024 or contains_nul(metadata):
        _assert_problem(response, 400)  # PostgreSQL cannot store U+0000: refused, not a 500
        assert _counts() == before
    else:
        # small enough: stored exactly as sent, control characters included, and read back intact
        assert response.status_code == 201, response.content[:300]
        assert api.get(f"/v1/wallets/{response.json()['id']}").json()["metadata"] == metadata


@pytest.mark.django_db
def test_hostile_strings_in_text_fields(api, caller_wallet):
    before = _counts()
    for path, body in (
        (f"/v1/wallets/{caller_wallet.id}/credit", {"amount": 100, "currency": "USD", "reference": "r" * 201}),
        (f"/v1/wallets/{caller_wallet.id}/credit", {"amount": 100, "currency": "USD", "source": "S" * 33}),
        (f"/v1/wallets/{caller_wallet.id}/debit", {"amount": 100, "currency": "USD", "destination": "d" * 201}),
        ("/v1/wallets", {"base_currency": "USD", "kind": "BANK"}),
        ("/v1/wallets", {"base_currency": "USD", "owner_id": "not-a-uuid"}),
        ("/v1/wallets", {"base_currency": "USD", "metadata": "not an object"}),
    ):
        _assert_problem(_post(api, path, body, str(uuid.uuid4())), 400)
    _assert_problem(
        api.post(
            "/v1/wallets",
            data="base_currency=USD",
            content_type="application/x-www-form-urlencoded",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        ),
        415,
    )
    for key in ("", "k" * 256, "bad\x01key"):
        response = api.post(
            f"/v1/wallets/{caller_wallet.id}/credit",
            {"amount": 100, "currency": "USD", "reference": "x"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        _assert_problem(response, 400)
    assert _counts() == before


@pytest.mark.django_db
def test_oversized_bodies_are_413_everywhere(api, caller_wallet):
    before = _counts()
    blob = json.dumps({"amount": 100, "currency": "USD", "reference": "x" * 200_000})
    for path in (f"/v1/wallets/{caller_wallet.id}/credit", f"/v1/wallets/{caller_wallet.id}/debit", "/v1/transfer"):
        _assert_problem(
            api.post(path, data=blob, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())), 413
        )
    assert _counts() == before
