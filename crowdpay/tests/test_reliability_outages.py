"""A dependency outage is a 503 problem+json that the client may retry, never a 500 or a hang, and
it writes nothing. (Regressions found by the reliability harness: during a Redis outage every
write answered 500 from the throttle's cache; during a PostgreSQL restart, 500 from the ORM.)"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from crowdpay.models import IdempotencyKey
from sagas import services as saga_services
from sagas.models import Saga

pytestmark = pytest.mark.django_db

CREDIT = {"amount": 5_00, "currency": "USD", "source": "CARD", "reference": "ch_test_ok_outage"}


def credit(api, wallet, key="outage-1"):
    return api.post(f"/v1/wallets/{wallet.id}/credit", CREDIT, format="json", HTTP_IDEMPOTENCY_KEY=key)


def assert_unavailable(response, dependency: str) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "2"
    body = response.json()
    assert body["code"] == "dependency_unavailable" and dependency in body["detail"]


def test_a_dead_cache_is_503_not_500_and_writes_nothing(api, caller_wallet, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    sagas_before = Saga.objects.count()
    assert_unavailable(credit(api, caller_wallet), "cache")
    assert Saga.objects.count() == sagas_before
    assert not IdempotencyKey.objects.exists()


def test_a_database_outage_is_503_and_releases_the_key_for_the_retry(api, caller_wallet, monkeypatch):
    real = saga_services.funding_start

    def down(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(saga_services, "funding_start", down)
    assert_unavailable(credit(api, caller_wallet), "database")
    assert not IdempotencyKey.objects.exists()
    assert not Saga.objects.filter(kind=Saga.Kind.FUNDING, source_reference="ch_test_ok_outage").exists()

    monkeypatch.setattr(saga_services, "funding_start", real)
    retried = credit(api, caller_wallet)
    assert retried.status_code == 202
    assert Saga.objects.filter(pk=retried.json()["id"]).exists()


def test_a_broker_down_at_publish_still_accepts_the_saga_for_the_sweeper(
    api, caller_wallet, monkeypatch, django_capture_on_commit_callbacks
):
    from sagas import tasks

    def refuse(*args, **kwargs):
        raise BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.saga_advance, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        response = credit(api, caller_wallet)
    # The saga row is the outbox: accepted, and the sweeper will send it once its lease is due.
    assert response.status_code == 202
    saga = Saga.objects.get(pk=response.json()["id"])
    assert saga.state == Saga.State.STARTED and saga.next_attempt_at is not None


def test_a_broker_error_inside_a_view_is_503(api, caller_wallet, monkeypatch):
    def down(**kwargs):
        raise BrokerOperationalError("Error 111 connecting")

    monkeypatch.setattr(saga_services, "funding_start", down)
    assert_unavailable(credit(api, caller_wallet, key="outage-2"), "broker")


def test_an_oversized_body_is_413_and_writes_nothing(api):
    body = json.dumps({"base_currency": "USD", "metadata": {"x": "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}})
    for key in ("big-1", "big-2"):
        response = api.post("/v1/wallets", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 413
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "payload_too_large"
    assert not IdempotencyKey.objects.exists()


def test_waits_on_dependencies_are_bounded():
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert 0 < settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] <= 10
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert 0 < options["socket_connect_timeout"] <= 5 and 0 < options["socket_timeout"] <= 10
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 3
    assert 0 < settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 5
