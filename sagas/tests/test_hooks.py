"""`POST /v1/hooks/funding`: the payment provider's signed webhooks (Standard Webhooks signature over
`id.timestamp.body`), refused with nothing written unless genuine and fresh, processed once per id."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from sagas import hooks, services
from sagas.models import FundingWebhook, Saga, SagaStep
from sagas.tests.conftest import advance
from wallets.tests.factories import balance_of

pytestmark = pytest.mark.django_db
URL = "/v1/hooks/funding"


def capture(reference="ch_test_late_h1", amount=500_00, currency="USD", type_="charge.captured") -> bytes:
    data = {"id": reference, "status": "captured", "amount": amount, "currency": currency}
    return json.dumps({"type": type_, "data": data}).encode()


def post(client, body: bytes, headers: dict):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return client.post(URL, body, content_type="application/json", **meta)


def signed(body: bytes, **kw) -> dict:
    return hooks.signed_headers(body, webhook_id=kw.pop("webhook_id", f"evt_{uuid.uuid4().hex}"), **kw)


@pytest.fixture
def late_saga(wallet, monkeypatch):
    """A funding waiting for the capture of its sandbox `late` charge (the sandbox's own callback is
    not sent: these tests deliver the webhook)."""
    monkeypatch.setattr(hooks, "sandbox_capture_schedule", lambda **kw: None)
    saga = services.funding_start(
        wallet_id=wallet.id,
        amount=500_00,
        currency="USD",
        source="CARD",
        source_reference="ch_test_late_h1",
        reference="op-hook",
        requested_by="u",
    )
    saga = advance(saga)
    assert saga.state == Saga.State.APPROVED
    return saga


def nothing_written(saga) -> None:
    assert not FundingWebhook.objects.exists()
    assert Saga.objects.get(pk=saga.id).state == Saga.State.APPROVED
    assert advance(saga).state == Saga.State.APPROVED  # still waiting: nothing confirmed it


def test_a_signed_capture_confirms_the_waiting_funding_without_jwt_or_idempotency_key(client, late_saga, wallet):
    body = capture()
    response = post(client, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"] is False
    report = FundingWebhook.objects.get()
    assert (report.provider, report.charge_reference, report.charge_status, report.amount, report.currency) == (
        "sandbox",
        "ch_test_late_h1",
        "captured",
        500_00,
        "USD",
    )
    assert advance(late_saga).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)


def test_the_view_is_exempt_from_the_idempotency_key_explicitly():
    from sagas.api.hooks import FundingHookView

    assert FundingHookView.idempotency_exempt
    assert FundingHookView.authentication_classes == []


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda body, h: (body, {**h, "webhook-signature": "v1,AAAA"}), "webhook_signature_invalid"),
        (lambda body, h: (body.replace(b"50000", b"90000"), h), "webhook_signature_invalid"),
        (lambda body, h: (body, {**h, "webhook-id": "evt_other"}), "webhook_signature_invalid"),
        (lambda body, h: (body, signed(body, secret="not-the-secret")), "webhook_signature_invalid"),
        (lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-signature"}), "webhook_headers_missing"),
        (lambda body, h: (body, {}), "webhook_headers_missing"),
        (lambda body, h: (body, {**h, "webhook-timestamp": "yesterday"}), "webhook_timestamp_invalid"),
        (lambda body, h: (body, signed(body, timestamp=int(time.time()) - 310)), "webhook_timestamp_stale"),
        (lambda body, h: (body, signed(body, timestamp=int(time.time()) + 310)), "webhook_timestamp_stale"),
    ],
)
def test_a_webhook_not_genuine_or_not_fresh_is_401_and_writes_nothing(client, late_saga, tamper, code):
    body = capture()
    body, headers = tamper(body, signed(body))
    steps = SagaStep.objects.count()
    response = post(client, body, headers)
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert SagaStep.objects.count() == steps
    nothing_written(late_saga)


def test_the_tolerance_is_a_setting(client, late_saga, settings):
    settings.FUNDING_WEBHOOK_TOLERANCE_SECONDS = 3600
    body = capture()
    assert post(client, body, signed(body, timestamp=int(time.time()) - 1800)).status_code == 200


def test_a_rotating_secret_may_sign_twice(client, late_saga):
    body = capture()
    good = signed(body, webhook_id="evt_rot")
    old = signed(body, webhook_id="evt_rot", secret="the-old-secret")
    headers = {**good, "webhook-signature": f"{old['webhook-signature']} {good['webhook-signature']}"}
    assert post(client, body, headers).status_code == 200


def test_a_replayed_webhook_is_answered_and_changes_nothing(client, late_saga, wallet):
    body = capture()
    headers = signed(body, webhook_id="evt_replayed")
    assert post(client, body, headers).json() == {"id": "evt_replayed", "duplicate": False}
    advance(late_saga)
    again = post(client, body, headers)
    assert again.status_code == 200 and again.json() == {"id": "evt_replayed", "duplicate": True}
    assert FundingWebhook.objects.count() == 1
    assert advance(late_saga).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)


def test_duplicate_events_for_one_capture_fund_once(client, late_saga, wallet):
    body = capture()
    for _ in range(3):  # the provider sent the same capture under three ids
        assert post(client, body, signed(body)).status_code == 200
    assert FundingWebhook.objects.count() == 3
    advance(late_saga)
    advance(late_saga)
    assert Saga.objects.get(pk=late_saga.id).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"data": {}}',
        capture(amount=0),
        capture(currency="DOLLARS"),
        capture(reference=""),
        json.dumps(
            {"type": "charge.captured", "data": {"id": "ch_1", "status": "odd", "amount": 1, "currency": "USD"}}
        ).encode(),
    ],
)
def test_a_signed_but_unusable_body_is_400_and_writes_nothing(client, late_saga, body):
    response = post(client, body, signed(body))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "webhook_payload_invalid"
    nothing_written(late_saga)


def test_an_event_of_another_type_is_acknowledged_and_ignored(client, late_saga):
    body = json.dumps({"type": "payout.paid", "data": {"id": "po_1"}}).encode()
    assert post(client, body, signed(body)).status_code == 200
    assert FundingWebhook.objects.get().charge_reference == ""
    assert advance(late_saga).state == Saga.State.APPROVED


def test_a_failed_charge_reported_by_webhook_fails_the_funding(client, late_saga):
    body = capture(type_="charge.failed").replace(b'"captured"', b'"failed"')
    assert post(client, body, signed(body)).status_code == 200
    saga = advance(late_saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "charge_declined")
