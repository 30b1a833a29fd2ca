"""Credit, debit, transfer (200 done / 202 pending / 422 refused, with the Operation) and the
Operation resource."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection

from crowdpay.tests.fixtures import client_for
from sagas import services as saga_services
from sagas.models import Saga
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = pytest.mark.django_db


def _post(client, url, body, key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


# --- credit ---------------------------------------------------------------------------------------


def test_credit_starts_a_funding_saga_and_answers_202(api, caller):
    wallet = WalletFactory(owner_id=caller)
    response = _post(
        api,
        f"/v1/wallets/{wallet.id}/credit",
        {"amount": 500_00, "currency": "USD", "source": "CARD", "reference": "ch_test_ok_1"},
    )
    assert response.status_code == 202, response.content
    operation = response.json()
    assert operation["kind"] == "FUNDING" and operation["status"] == "PENDING"
    assert operation["amount"] == 500_00 and operation["wallet_id"] == str(wallet.id) and operation["error"] is None
    assert response["Location"] == f"/v1/operations/{operation['id']}"
    saga = Saga.objects.get(pk=operation["id"])
    assert saga.source_reference == "ch_test_ok_1" and saga.reference.startswith(f"{caller}:")
    # the worker's job, run here: the credit lands once
    saga_services.saga_advance(saga_id=saga.id)
    assert api.get(f"/v1/operations/{saga.id}").json()["status"] == "SUCCEEDED"
    assert balance_of(wallet) == (500_00, 0)


def test_credit_needs_an_idempotency_key(api, caller):
    wallet = WalletFactory(owner_id=caller)
    response = api.post(f"/v1/wallets/{wallet.id}/credit", {"amount": 1, "currency": "USD"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"
    assert not Saga.objects.exists()


def test_credit_retried_with_its_key_is_one_saga(api, caller):
    wallet = WalletFactory(owner_id=caller)
    url, body = f"/v1/wallets/{wallet.id}/credit", {"amount": 700, "currency": "USD", "reference": "ch_test_ok_2"}
    first, second = _post(api, url, body, "fund-1"), _post(api, url, body, "fund-1")
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert Saga.objects.count() == 1
    mismatch = _post(api, url, {**body, "amount": 701}, "fund-1")
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": "100", "currency": "USD", "reference": "ch"}, "invalid_amount"),
        ({"amount": 100.5, "currency": "USD"}, "invalid_amount"),
        ({"amount": 100.0, "currency": "USD"}, "invalid_amount"),
        ({"amount": True, "currency": "USD"}, "invalid_amount"),
        ({"amount": -5, "currency": "USD"}, "invalid_amount"),
        ({"amount": 0, "currency": "USD"}, "invalid_amount"),
        ({"amount": 10**16, "currency": "USD"}, "amount_too_large"),
        ({"amount": 100, "currency": "usd"}, "unsupported_currency"),
        ({"amount": 100, "currency": "ABC"}, "unsupported_currency"),
        ({"currency": "USD", "reference": "ch"}, "validation_error"),
        ({"amount": 100, "currency": "USD", "reference": ""}, "validation_error"),
    ],
)
def test_credit_refuses_bad_amounts_and_currencies_writing_nothing(api, caller, body, code):
    wallet = WalletFactory(owner_id=caller)
    response = _post(api, f"/v1/wallets/{wallet.id}/credit", {"reference": "ch_test_ok_1", **body})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Saga.objects.exists()


def test_credit_to_another_owners_wallet_is_404(api):
    other = WalletFactory()
    response = _post(api, f"/v1/wallets/{other.id}/credit", {"amount": 1, "currency": "USD", "reference": "c"})
    assert response.status_code == 404 and response.json()["code"] == "wallet_not_found"
    assert not Saga.objects.exists()


def test_credit_with_a_body_that_is_not_json_is_415(api, caller):
    wallet = WalletFactory(owner_id=caller)
    response = api.post(
        f"/v1/wallets/{wallet.id}/credit", "amount=1", content_type="text/plain", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert response.status_code == 415 and not Saga.objects.exists()


# --- debit ----------------------------------------------------------------------------------------


def test_debit_starts_a_withdraw_saga(api, caller_wallet):
    body = {"amount": 100_00, "currency": "USD", "destination": "iban:DE1", "reference": "po-77"}
    response = _post(api, f"/v1/wallets/{caller_wallet.id}/debit", body)
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "WITHDRAW" and response.json()["status"] == "PENDING"
    saga = Saga.objects.get()
    assert (saga.source_reference, saga.memo) == ("iban:DE1", "po-77")


def test_debit_needs_a_destination_and_a_key(api, caller_wallet):
    url = f"/v1/wallets/{caller_wallet.id}/debit"
    missing = _post(api, url, {"amount": 1, "currency": "USD"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "destination"
    no_key = api.post(url, {"amount": 1, "currency": "USD", "destination": "x"}, format="json")
    assert no_key.json()["code"] == "idempotency_key_required"


# --- transfer -------------------------------------------------------------------------------------


def test_transfer_between_wallets_completes_and_is_replayed(api, caller_wallet):
    target = WalletFactory()
    body = {
        "from_wallet_id": str(caller_wallet.id),
        "to_wallet_id": str(target.id),
        "amount": 100_00,
        "currency": "USD",
        "memo": "hotel",
    }
    response = _post(api, "/v1/transfer", body, "t-1")
    assert response.status_code == 200, response.content
    operation = response.json()
    assert operation["kind"] == "TRANSFER" and operation["counterparty_wallet_id"] == str(target.id)
    assert operation["status"] == "SUCCEEDED"
    # The write answers the Operation without its serializer: the same JSON as the read renders
    assert api.get(f"/v1/operations/{operation['id']}").json() == operation
    assert balance_of(caller_wallet) == (900_00, 0) and balance_of(target) == (100_00, 0)
    again = _post(api, "/v1/transfer", body, "t-1")
    assert again["Idempotent-Replayed"] == "true" and balance_of(target) == (100_00, 0)
    assert (again.status_code, again.json()) == (200, operation)
    events = api.get(f"/v1/wallets/{caller_wallet.id}/events").json()["results"]
    assert [e["type"] for e in events][-2:] == ["TransferInitiated", "TransferCompleted"]


@pytest.mark.django_db(transaction=True)  # the answer is stored once the movement commits
def test_a_completed_transfer_stores_its_answer_in_the_movements_transaction(api, caller, monkeypatch):
    from crowdpay import services as crowdpay_services
    from crowdpay.models import IdempotencyKey

    completed_after = []  # the wrapper's own UPDATE, after the handler
    complete = crowdpay_services.idempotency_complete
    monkeypatch.setattr(
        crowdpay_services, "idempotency_complete", lambda **kw: completed_after.append(kw) or complete(**kw)
    )
    source, target = funded(amount=100, owner_id=caller), WalletFactory()
    body = {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": 60, "currency": "USD"}
    response = _post(api, "/v1/transfer", body, "in-tx")
    assert response.status_code == 200, response.content
    assert completed_after == []
    key = IdempotencyKey.objects.get(key="in-tx")
    assert key.status == IdempotencyKey.Status.COMPLETED and key.completed_at is not None
    assert (key.response_status, key.response_body) == (200, response.json())
    assert key.response_headers == {"Location": response["Location"]}
    again = _post(api, "/v1/transfer", body, "in-tx")
    assert again["Idempotent-Replayed"] == "true" and (again.status_code, again.json()) == (200, response.json())
    # refused (40 left, 60 asked): the movement rolled back with nothing stored; the wrapper stores the 422
    refused = _post(api, "/v1/transfer", body, "in-tx-2")
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_funds"
    assert [kw["status"] for kw in completed_after] == [422]
    stored = IdempotencyKey.objects.get(key="in-tx-2")
    assert (stored.status, stored.response_status, stored.response_body) == ("COMPLETED", 422, refused.json())
    assert balance_of(source) == (40, 0) and balance_of(target) == (60, 0)


def test_transfer_without_funds_is_a_422_carrying_its_failed_operation_and_replays_so(api, caller):
    source, target = funded(amount=10, owner_id=caller), WalletFactory()
    body = {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": 11, "currency": "USD"}
    response = _post(api, "/v1/transfer", body, "poor-1")
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "insufficient_funds" and problem["status"] == 422 and problem["detail"]
    operation = problem["operation"]
    assert problem["operation_id"] == operation["id"] and response["Location"] == f"/v1/operations/{operation['id']}"
    assert operation["status"] == "FAILED" and operation["error"]["code"] == "insufficient_funds"
    assert api.get(f"/v1/operations/{operation['id']}").json() == operation  # the FAILED operation is kept
    assert balance_of(source) == (10, 0)
    again = _post(api, "/v1/transfer", body, "poor-1")
    assert again["Idempotent-Replayed"] == "true"
    assert (again.status_code, again["Content-Type"], again.json()) == (422, "application/problem+json", problem)
    assert Saga.objects.count() == 1


def test_transfer_from_a_frozen_wallet_is_422_wallet_frozen(api, caller_wallet):
    from wallets import services as ledger

    ledger.wallet_freeze(wallet_id=caller_wallet.id, actor="officer:1", reason="KYC review")
    body = {
        "from_wallet_id": str(caller_wallet.id),
        "to_wallet_id": str(WalletFactory().id),
        "amount": 1,
        "currency": "USD",
    }
    response = _post(api, "/v1/transfer", body)
    assert response.status_code == 422 and response.json()["code"] == "wallet_frozen"
    assert response.json()["operation"]["status"] == "FAILED"


def test_a_transfer_still_pending_after_the_request_is_202(api, caller_wallet):
    target = WalletFactory(base_currency="EUR")  # a conversion: the FX quote is the worker's step
    body = {"from_wallet_id": str(caller_wallet.id), "to_wallet_id": str(target.id), "amount": 1_00, "currency": "USD"}
    response = _post(api, "/v1/transfer", body)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "PENDING" and balance_of(caller_wallet) == (1000_00, 1_00)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/wallets/{id}/credit", {"amount": 1, "currency": "USD", "reference": "c", "amnt": 2}),
        ("/v1/wallets/{id}/debit", {"amount": 1, "currency": "USD", "destination": "iban:X", "memo": "m"}),
        (
            "/v1/transfer",
            {"from_wallet_id": "{id}", "to_wallet_id": "{other}", "amount": 1, "currency": "USD", "note": "x"},
        ),
    ],
)
def test_money_writes_refuse_unknown_fields_writing_nothing(api, caller_wallet, path, body):
    other = WalletFactory()
    body = {k: v.format(id=caller_wallet.id, other=other.id) if isinstance(v, str) else v for k, v in body.items()}
    response = _post(api, path.format(id=caller_wallet.id), body)
    assert response.status_code == 400 and response.json()["code"] == "unknown_field", response.content
    assert len(response.json()["errors"]) == 1
    assert not Saga.objects.exists() and balance_of(caller_wallet) == (1000_00, 0)


def test_transfer_from_another_owners_wallet_is_404(api):
    source, target = funded(amount=100), WalletFactory()
    body = {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": 1, "currency": "USD"}
    response = _post(api, "/v1/transfer", body)
    assert response.status_code == 404 and not Saga.objects.exists()


def test_transfer_to_an_unknown_wallet_is_404(api, caller_wallet):
    body = {"from_wallet_id": str(caller_wallet.id), "to_wallet_id": str(uuid.uuid4()), "amount": 1, "currency": "USD"}
    response = _post(api, "/v1/transfer", body)
    assert response.status_code == 404 and response.json()["code"] == "wallet_not_found"


def test_transfer_to_itself_is_400(api, caller_wallet):
    body = {
        "from_wallet_id": str(caller_wallet.id),
        "to_wallet_id": str(caller_wallet.id),
        "amount": 1,
        "currency": "USD",
    }
    response = _post(api, "/v1/transfer", body)
    assert response.status_code == 400 and response.json()["code"] == "same_wallet"


def test_a_long_idempotency_key_still_fits_the_saga_reference(api, caller_wallet):
    target = WalletFactory()
    body = {"from_wallet_id": str(caller_wallet.id), "to_wallet_id": str(target.id), "amount": 1, "currency": "USD"}
    assert _post(api, "/v1/transfer", body, "k" * 255).status_code == 200
    assert len(Saga.objects.get().reference) <= 200


# --- operations -----------------------------------------------------------------------------------


def _credit(api, wallet, amount=100) -> dict:
    return _post(
        api,
        f"/v1/wallets/{wallet.id}/credit",
        {"amount": amount, "currency": "USD", "reference": f"ch_test_ok_{uuid.uuid4().hex}"},
    ).json()


def test_get_operation_and_another_owners_is_404(api, caller):
    operation = _credit(api, WalletFactory(owner_id=caller))
    assert api.get(f"/v1/operations/{operation['id']}").json() == operation
    stranger = client_for(uuid.uuid4())
    response = stranger.get(f"/v1/operations/{operation['id']}")
    assert response.status_code == 404 and response.json()["code"] == "operation_not_found"
    admin = client_for(uuid.uuid4(), "wallet:read wallet:admin")
    assert admin.get(f"/v1/operations/{operation['id']}").status_code == 200
    assert api.get(f"/v1/operations/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize("wait", ["-1", "x", "1.5"])
def test_get_operation_refuses_a_bad_wait(api, caller, wait):
    operation = _credit(api, WalletFactory(owner_id=caller))
    response = api.get(f"/v1/operations/{operation['id']}", {"wait": wait})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "wait"


def test_get_operation_refuses_an_unknown_query_parameter(api, caller):
    operation = _credit(api, WalletFactory(owner_id=caller))
    response = api.get(f"/v1/operations/{operation['id']}", {"wiat": 5})
    assert response.status_code == 400 and response.json()["code"] == "unknown_field"
    assert response.json()["errors"][0]["field"] == "wiat"


def test_wait_on_a_terminal_operation_answers_at_once(api, caller_wallet):
    target = WalletFactory()
    body = {"from_wallet_id": str(caller_wallet.id), "to_wallet_id": str(target.id), "amount": 1, "currency": "USD"}
    operation = _post(api, "/v1/transfer", body).json()
    started = time.monotonic()
    assert api.get(f"/v1/operations/{operation['id']}", {"wait": 30}).json()["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 5  # a bound on a hang, not a speed assertion


def test_wait_times_out_with_the_pending_operation(api, caller, settings):
    operation = _credit(api, WalletFactory(owner_id=caller))
    response = api.get(f"/v1/operations/{operation['id']}", {"wait": 1})
    assert response.status_code == 200 and response.json()["status"] == "PENDING"


@pytest.mark.django_db(transaction=True)
def test_wait_answers_when_the_saga_finishes_without_an_open_transaction(caller):
    api = client_for(caller)
    wallet = WalletFactory(owner_id=caller)
    operation = _credit(api, wallet, 250)
    seen_in_atomic = []

    def finish_later():
        time.sleep(0.5)
        try:
            saga_services.saga_advance(saga_id=operation["id"])
        finally:
            from django.db import connection as thread_connection

            thread_connection.close()

    worker = threading.Thread(target=finish_later)
    worker.start()
    from sagas import selectors

    real_get = selectors.operation_get

    def spy(**kwargs):
        seen_in_atomic.append(connection.in_atomic_block)
        return real_get(**kwargs)

    selectors.operation_get = spy
    try:
        response = api.get(f"/v1/operations/{operation['id']}", {"wait": 20})
    finally:
        selectors.operation_get = real_get
        worker.join()
    assert response.json()["status"] == "SUCCEEDED", response.json()["error"]
    assert len(seen_in_atomic) > 1 and not any(seen_in_atomic)
    assert balance_of(wallet) == (250, 0)
