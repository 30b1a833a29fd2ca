"""The SDK's own logic without a server: request models, the mapping of problems and failed
operations to exceptions, and the retry schedule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from crowdpay_connect_sdk import errors
from crowdpay_connect_sdk.models import (
    CreditRequest,
    DebitRequest,
    NewWalletRequest,
    Operation,
    TransferRequest,
    WalletKind,
)
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient


def problem(status: int, code: str, **extra) -> bytes:
    return json.dumps(
        {"type": "about:blank", "status": status, "detail": f"{code} happened", "code": code, **extra}
    ).encode()


def test_a_new_wallet_request_takes_strings_or_uuids_and_plain_dicts():
    owner = uuid.uuid4()
    body = NewWalletRequest(owner_id=str(owner), kind="POD", base_currency="USD", metadata={"n": 1}).to_dict()
    assert body == {"owner_id": str(owner), "kind": "POD", "base_currency": "USD", "metadata": {"n": 1}}
    generated = NewWalletRequest(owner_id=owner, kind=WalletKind.POD, base_currency="USD").to_generated()
    assert (generated.owner_id, generated.kind) == (owner, WalletKind.POD)
    assert "owner_id" not in NewWalletRequest(base_currency="EUR").to_dict()  # the caller owns it


def test_request_models_refuse_what_can_never_be_right():
    with pytest.raises(ValueError, match="kind"):
        NewWalletRequest(base_currency="USD", kind="BANK")
    with pytest.raises(TypeError, match="minor units"):
        CreditRequest(amount=5.0, currency="USD", reference="ch_1")
    with pytest.raises(TypeError):
        DebitRequest(amount=True, currency="USD", destination="x")
    with pytest.raises(ValueError, match="positive"):
        CreditRequest(amount=0, currency="USD", reference="ch_1")
    with pytest.raises(ValueError, match="to_wallet_id"):
        TransferRequest(from_wallet_id=uuid.uuid4(), to_wallet_id="pod-7", amount=1, currency="USD")
    with pytest.raises(ValueError, match="owner_id"):
        NewWalletRequest(base_currency="USD", owner_id="me").to_dict()


def test_money_requests_serialise_as_the_api_names_them():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert TransferRequest(
        from_wallet_id=a, to_wallet_id=str(b), amount=100_00, currency="USD", memo="m"
    ).to_dict() == {
        "from_wallet_id": str(a),
        "to_wallet_id": str(b),
        "amount": 100_00,
        "currency": "USD",
        "memo": "m",
    }
    assert DebitRequest(amount=1, currency="JPY", destination="iban:X").to_generated().destination == "iban:X"
    assert CreditRequest(amount=1, currency="USD", reference="ch_1").to_generated().source == "CARD"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "validation_error", errors.InvalidRequest),
        (400, "invalid_amount", errors.InvalidAmount),
        (400, "amount_too_large", errors.InvalidAmount),
        (401, "not_authenticated", errors.AuthenticationError),
        (403, "insufficient_scope", errors.PermissionDenied),
        (404, "wallet_not_found", errors.NotFound),
        (409, "idempotency_key_in_progress", errors.IdempotencyKeyInProgress),
        (409, "invalid_transition", errors.Conflict),
        (422, "insufficient_funds", errors.InsufficientFunds),
        (422, "wallet_closed", errors.WalletClosed),
        (422, "currency_mismatch", errors.CurrencyMismatch),
        (422, "velocity_limit_exceeded", errors.VelocityLimitExceeded),
        (422, "something_new", errors.Refused),
        (500, "internal_error", errors.ServerError),
        (418, "teapot", errors.CrowdPayError),
    ],
)
def test_problems_map_by_code_then_by_status(status, code, expected):
    error = errors.from_problem(status, problem(status, code))
    assert type(error) is expected
    assert (error.code, error.status, error.detail) == (code, status, f"{code} happened")
    assert str(error) == f"{code} (HTTP {status}): {code} happened"
    assert code in repr(error)


def test_a_proxy_page_and_a_rate_limit_are_still_typed():
    error = errors.from_problem(502, b"<h1>bad gateway</h1>")
    assert (type(error), error.code, error.problem) == (errors.ServerError, "http_502", {})
    assert type(errors.from_problem(503, b"[1, 2]")) is errors.ServerError
    limited = errors.from_problem(429, problem(429, "rate_limited"), httpx.Headers({"Retry-After": "3"}))
    assert type(limited) is errors.RateLimited and limited.retry_after == 3.0
    assert errors.from_problem(429, problem(429, "rate_limited"), httpx.Headers({})).retry_after is None


def operation(**error) -> Operation:
    now = datetime.now(UTC).isoformat()
    return Operation.from_dict(
        {
            "id": str(uuid.uuid4()), "kind": "WITHDRAW", "status": "FAILED", "amount": 5, "currency": "USD",
            "wallet_id": str(uuid.uuid4()), "counterparty_wallet_id": None, "created_at": now, "updated_at": now,
            "error": error or None,
        }
    )  # fmt: skip


def test_a_422_carrying_its_failed_operation_attaches_it():
    failed = operation(code="insufficient_funds", detail="not enough")
    body = {
        "type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "not enough",
        "code": "insufficient_funds", "operation_id": str(failed.id), "operation": failed.to_dict(),
    }  # fmt: skip
    error = errors.from_problem(422, json.dumps(body).encode())
    assert (type(error), error.status, error.operation_id) == (errors.InsufficientFunds, 422, failed.id)
    assert error.operation.status.value == "FAILED" and error.operation.error.code == "insufficient_funds"
    plain = errors.from_problem(422, problem(422, "idempotency_key_reused"))
    assert (plain.operation, plain.operation_id) == (None, None)
    unknown = errors.from_problem(400, problem(400, "unknown_field"))
    assert type(unknown) is errors.UnknownField and isinstance(unknown, errors.InvalidRequest)


def test_failed_operations_map_by_code():
    error = errors.from_operation(operation(code="wallet_frozen", detail="the wallet is frozen"))
    assert (type(error), error.status, error.detail) == (errors.WalletFrozen, None, "the wallet is frozen")
    assert str(error) == "wallet_frozen (operation failed): the wallet is frozen"
    failed = errors.from_operation(operation(code="payout_failed", detail=""))
    assert (type(failed), failed.code) == (errors.OperationFailed, "payout_failed")
    assert failed.detail.endswith("failed") and failed.operation.error.code == "payout_failed"
    assert errors.from_operation(operation()).code == "operation_failed"


def test_backoff_grows_exponentially_with_jitter_under_its_cap():
    policy = RetryPolicy(max_retries=6, base=0.5, cap=4.0)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert policy.backoff(0, at_least=3.0) == 3.0  # Retry-After wins, within the cap
    assert policy.backoff(0, at_least=60.0) == 4.0
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_a_client_needs_a_token_and_exposes_the_generated_client():
    with pytest.raises(ValueError, match="api_key"):
        WalletClient(base_url="http://127.0.0.1:1", api_key="")
    client = WalletClient(base_url="http://127.0.0.1:1/", api_key="tok", headers={"X-Request-Id": "r1"})
    httpx_client = client.low_level.get_async_httpx_client()
    assert httpx_client.headers["Authorization"] == "Bearer tok"
    assert httpx_client.headers["X-Request-Id"] == "r1"
    assert httpx_client.headers["User-Agent"].startswith("crowdpay-connect-sdk/")
    assert httpx_client.timeout.read == 40.0  # room for a 30 s long-poll
