"""Idempotency-Key (Stripe's semantics), stored in PostgreSQL and scoped to the caller."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from crowdpay import services, tasks
from crowdpay.models import IdempotencyKey
from crowdpay.tests.fixtures import client_for
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

NEW_WALLET = {"kind": "POD", "base_currency": "USD", "metadata": {"name": "trip"}}


def _create(client, key, body=NEW_WALLET):
    return client.post("/v1/wallets", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_request_replays_the_stored_response(api):
    first = _create(api, "k-1")
    second = _create(api, "k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Wallet.objects.count() == 1


def test_a_reordered_but_equal_json_body_is_the_same_request(api):
    _create(api, "k-2")
    body = b'{"metadata": {"name": "trip"},  "base_currency": "USD", "kind": "POD"}'
    again = api.post("/v1/wallets", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert again["Idempotent-Replayed"] == "true" and Wallet.objects.count() == 1


def test_the_same_key_with_another_request_is_422(api):
    _create(api, "k-3")
    response = _create(api, "k-3", {**NEW_WALLET, "base_currency": "EUR"})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    assert Wallet.objects.count() == 1


def test_keys_are_scoped_to_the_caller(api):
    _create(api, "shared")
    other = _create(client_for(uuid.uuid4()), "shared")
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")
    assert Wallet.objects.count() == 2


def test_a_key_whose_first_request_still_runs_is_409(api, caller):
    # The first request's claim, as it stands while that request runs (see test_server for two
    # real parallel requests).
    IdempotencyKey.objects.create(
        caller=str(caller),
        key="running",
        fingerprint=_fingerprint_for(api, "running"),
        method="POST",
        path="/v1/wallets",
        created_at=timezone.now(),
        locked_at=timezone.now(),
    )
    response = _create(api, "running")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_progress"
    assert not Wallet.objects.exists()


def _fingerprint_for(client, key) -> str:
    from rest_framework.test import APIRequestFactory

    from crowdpay.api.idempotency import request_fingerprint

    django_request = APIRequestFactory().post("/v1/wallets", NEW_WALLET, format="json")

    class Wrapped:
        _request = django_request
        method = "POST"

        def get_full_path(self):
            return django_request.get_full_path()

    return request_fingerprint(Wrapped())


def test_a_stale_in_progress_key_is_taken_over(api, caller, settings):
    stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 5)
    IdempotencyKey.objects.create(
        caller=str(caller),
        key="crashed",
        fingerprint=_fingerprint_for(api, "crashed"),
        method="POST",
        path="/v1/wallets",
        created_at=stale,
        locked_at=stale,
    )
    response = _create(api, "crashed")
    assert response.status_code == 201
    assert IdempotencyKey.objects.get(key="crashed").status == IdempotencyKey.Status.COMPLETED


def test_a_refusal_is_stored_and_replayed_too(api):
    body = {"owner_id": str(uuid.uuid4()), "base_currency": "USD"}
    first = _create(api, "k-403", body)
    again = _create(api, "k-403", body)
    assert first.status_code == again.status_code == 403 and again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/problem+json"


def test_invalid_input_releases_the_key_for_a_corrected_retry(api):
    bad = _create(api, "k-fix", {"base_currency": "XXX"})
    assert bad.status_code == 400 and not IdempotencyKey.objects.filter(key="k-fix").exists()
    assert _create(api, "k-fix").status_code == 201


def test_a_crash_releases_the_key(api, monkeypatch):
    from wallets import services as wallet_services

    def boom(**kwargs):
        raise RuntimeError("crash")

    monkeypatch.setattr(wallet_services, "wallet_open", boom)
    assert _create(api, "k-crash").status_code == 500
    assert not IdempotencyKey.objects.filter(key="k-crash").exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_an_unusable_key_is_400(api, key):
    response = _create(api, key)
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_invalid"


def test_an_expired_key_is_a_new_request(api, caller, settings):
    _create(api, "old")
    old = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS + 1)
    IdempotencyKey.objects.filter(key="old").update(created_at=old)
    again = _create(api, "old")
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert Wallet.objects.count() == 2


def test_the_periodic_task_deletes_keys_older_than_24h(api, settings):
    for key in ("a", "b", "c"):
        _create(api, key)
    old = timezone.now() - timedelta(hours=24, seconds=1)
    IdempotencyKey.objects.filter(key__in=["a", "b"]).update(created_at=old)
    assert tasks.idempotency_keys_expire.apply().get() == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["c"]
    assert services.idempotency_keys_expire(batch=1) == 0
    assert "idempotency-keys-expire" in settings.CELERY_BEAT_SCHEDULE
