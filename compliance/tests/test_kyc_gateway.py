"""The HTTP KYC provider gateway against a real stub provider on loopback: the request it sends, the
signed callback (good, bad, stale, future, replayed, duplicated), timeouts and 5xx with retries, and
polling when the callback is late."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import kyc_provider, selectors, services, tasks, webhooks
from compliance.models import AuditEntry, KycCallback, KycProfile
from compliance.tests.factories import profile
from compliance.tests.kyc_stub import StubKycProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def stub(settings):
    with StubKycProvider() as provider:
        settings.KYC_SERVICE_ENDPOINT = provider.url
        settings.KYC_SERVICE_TIMEOUT_SECONDS = 0.5
        settings.KYC_CHECK_RETRY_BASE_SECONDS = 0.01
        settings.KYC_CHECK_RETRY_MAX_SECONDS = 0.02
        yield provider


@pytest.fixture
def pending(owner_id):
    return profile(owner_id, status=KycProfile.Status.PENDING)


def sent(pending: KycProfile) -> KycProfile:
    return services.kyc_check_send(profile_id=pending.pk)


def callback(client, body: dict | bytes, *, callback_id=None, timestamp=None, secret=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    callback_id = callback_id or f"cb_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    from django.conf import settings

    signature = signature or webhooks.sign(
        secret=secret or settings.KYC_WEBHOOK_SECRET, callback_id=callback_id, timestamp=timestamp, body=raw
    )
    return client.post(
        "/v1/hooks/kyc",
        raw,
        content_type="application/json",
        headers={
            webhooks.ID_HEADER: callback_id,
            webhooks.TIMESTAMP_HEADER: str(timestamp),
            webhooks.SIGNATURE_HEADER: signature,
        },
    )


def verdict(profile: KycProfile, status="verified", reasons=()) -> dict:
    return {"reference": str(profile.check_reference), "id": "chk_1", "status": status, "reasons": list(reasons)}


# --- the request ------------------------------------------------------------------------------------


def test_the_check_request_carries_the_data_and_the_reference_as_idempotency_key(stub, pending):
    profile_ = sent(pending)
    (request,) = stub.requests
    assert (request["method"], request["path"]) == ("POST", "/checks")
    assert request["headers"]["idempotency-key"] == str(pending.check_reference)
    assert request["json"] == {
        "reference": str(pending.check_reference),
        "kind": "person",
        "country": "DE",
        "person": {
            "legal_name": "Ada Lovelace",
            "date_of_birth": "1815-12-10",
            "address": "12 St James's Square, London",
            "document_reference": "X1234567",
        },
    }
    assert profile_.status == KycProfile.Status.PENDING and profile_.check_id == "chk_1"
    assert profile_.check_sent_at is not None
    assert sent(profile_) and len(stub.requests) == 1, "a sent check is not sent again"


def test_a_business_check_names_its_beneficial_owners(stub, owner_id):
    owners = [{"name": "Ada Lovelace", "date_of_birth": "1985-12-10", "ownership_percent": "100.00"}]
    made = profile(
        owner_id,
        status=KycProfile.Status.PENDING,
        kind=KycProfile.Kind.BUSINESS,
        legal_name="Engines Ltd",
        document_number="HRB-1",
        date_of_birth="",
        beneficial_owners=owners,
    )
    sent(made)
    body = stub.requests[0]["json"]
    assert body["kind"] == "business"
    assert body["business"] == {
        "name": "Engines Ltd",
        "registration_number": "HRB-1",
        "address": "12 St James's Square, London",
        "beneficial_owners": owners,
    }


def test_an_answer_given_at_once_is_applied(stub, pending):
    stub.answers = [(201, {"id": "chk_9", "status": "rejected", "reasons": ["document expired"]})]
    made = sent(pending)
    assert made.status == KycProfile.Status.REJECTED and made.provider_reasons == ["document expired"]
    assert AuditEntry.objects.filter(action="kyc_provider_rejected", object_id=str(made.pk)).count() == 1


def test_a_4xx_from_the_provider_rejects_the_submission(stub, pending):
    stub.answers = [(422, {"code": "invalid_document"})]
    made = sent(pending)
    assert made.status == KycProfile.Status.REJECTED
    assert "refused the check" in made.provider_reasons[0]


# --- failures and retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [(503, {"code": "busy"}), (500, {}), "slow"])
def test_timeouts_and_5xx_are_transient(stub, pending, failure):
    stub.answers = [failure]
    with pytest.raises(kyc_provider.GatewayUnavailable):
        sent(pending)
    pending.refresh_from_db()
    assert pending.status == KycProfile.Status.PENDING and pending.check_sent_at is None


def test_the_task_retries_with_backoff_until_the_provider_answers(stub, pending):
    stub.answers = [(502, {}), "slow", (200, {"id": "chk_ok", "status": "verified"})]
    tasks.kyc_check_send.apply(args=[str(pending.pk)])
    assert [r["method"] for r in stub.requests] == ["POST"] * 3
    pending.refresh_from_db()
    assert pending.status == KycProfile.Status.VERIFIED and pending.check_id == "chk_ok"


def test_after_the_last_try_the_sweep_sends_it_again(stub, pending, settings):
    settings.KYC_CHECK_MAX_ATTEMPTS = 2
    stub.answers = [(500, {})]
    tasks.kyc_check_send.apply(args=[str(pending.pk)])
    assert len(stub.requests) == 2
    pending.refresh_from_db()
    assert pending.check_sent_at is None  # the row is the outbox: still to send
    KycProfile.objects.filter(pk=pending.pk).update(submitted_at=timezone.now() - timedelta(minutes=5))
    assert selectors.kyc_checks_unsent() == [pending.pk]


def test_a_dead_provider_is_transient(settings, pending):
    settings.KYC_SERVICE_ENDPOINT = "http://127.0.0.1:9"  # nothing listens: connection refused
    with pytest.raises(kyc_provider.GatewayUnavailable):
        sent(pending)


# --- the signed callback -----------------------------------------------------------------------------


def test_a_signed_callback_decides_the_check(stub, pending, client):
    made = sent(pending)
    response = callback(client, verdict(made, "verified"))
    assert response.status_code == 200 and response.json() == {"received": True, "outcome": "applied"}
    made.refresh_from_db()
    assert made.status == KycProfile.Status.VERIFIED and made.decided_at is not None
    entry = AuditEntry.objects.get(action="kyc_provider_verified")
    assert entry.actor_label == "kyc-provider:callback" and entry.object_id == str(made.pk)


def test_a_callback_may_arrive_before_the_send_is_recorded(pending, client):
    response = callback(client, verdict(pending, "needs_review", ["watch-list match"]))
    assert response.json()["outcome"] == "applied"
    pending.refresh_from_db()
    assert pending.status == KycProfile.Status.NEEDS_REVIEW and pending.provider_reasons == ["watch-list match"]


def _nothing_written(made: KycProfile) -> None:
    made.refresh_from_db()
    assert made.status == KycProfile.Status.PENDING
    assert not KycCallback.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="kyc_provider").exists()


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ({"secret": "not-the-secret"}, "webhook_signature_invalid"),
        ({"signature": "v1,AAAA"}, "webhook_signature_invalid"),
        ({"signature": "garbage"}, "webhook_signature_invalid"),
        ({"timestamp": -301}, "webhook_timestamp_stale"),  # seconds from now
        ({"timestamp": +360}, "webhook_timestamp_stale"),
    ],
)
def test_a_bad_signature_or_timestamp_is_401_and_writes_nothing(stub, pending, client, tamper, code):
    made = sent(pending)
    if "timestamp" in tamper:
        tamper = {"timestamp": int(time.time()) + tamper["timestamp"]}
    response = callback(client, verdict(made), **tamper)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json" and response.json()["code"] == code
    _nothing_written(made)


def test_a_body_changed_after_signing_is_refused(pending, client, settings):
    body = json.dumps(verdict(pending)).encode()
    stamp = int(time.time())
    signature = webhooks.sign(secret=settings.KYC_WEBHOOK_SECRET, callback_id="cb_1", timestamp=stamp, body=body)
    forged = body.replace(b'"verified"', b'"rejected"')
    response = callback(client, forged, callback_id="cb_1", timestamp=stamp, signature=signature)
    assert response.status_code == 401
    _nothing_written(pending)


def test_missing_headers_are_401(pending, client):
    response = client.post("/v1/hooks/kyc", verdict(pending), content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "webhook_headers_missing"
    _nothing_written(pending)


def test_a_rotated_secret_verifies_with_either_signature(pending, client, settings):
    body = json.dumps(verdict(pending)).encode()
    stamp = int(time.time())
    old = webhooks.sign(secret="old-secret", callback_id="cb_r", timestamp=stamp, body=body)
    new = webhooks.sign(secret=settings.KYC_WEBHOOK_SECRET, callback_id="cb_r", timestamp=stamp, body=body)
    response = callback(client, body, callback_id="cb_r", timestamp=stamp, signature=f"{old} {new}")
    assert response.status_code == 200


def test_a_replayed_callback_is_a_no_op(stub, pending, client):
    made = sent(pending)
    first = callback(client, verdict(made, "rejected", ["document expired"]), callback_id="cb_same")
    again = callback(client, verdict(made, "verified"), callback_id="cb_same")
    assert first.json()["outcome"] == "applied" and again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    made.refresh_from_db()
    assert made.status == KycProfile.Status.REJECTED
    assert KycCallback.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="kyc_provider").count() == 1


def test_a_second_callback_about_a_decided_check_changes_nothing(stub, pending, client):
    made = sent(pending)
    callback(client, verdict(made, "verified"))
    late = callback(client, verdict(made, "rejected"))
    assert late.json()["outcome"] == "ignored"
    made.refresh_from_db()
    assert made.status == KycProfile.Status.VERIFIED and KycCallback.objects.count() == 2


def test_a_callback_about_an_unknown_or_superseded_check_is_ignored(client):
    response = callback(client, {"reference": str(uuid.uuid4()), "status": "verified"})
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"


def test_a_malformed_callback_body_is_400_and_writes_nothing(pending, client):
    response = callback(client, {"reference": "nope", "status": "maybe"})
    assert response.status_code == 400
    _nothing_written(pending)


def test_the_callback_takes_no_bearer_token_and_no_idempotency_key(pending, client):
    # the Django test client sends neither: the signature is the authentication
    assert callback(client, verdict(pending)).status_code == 200


# --- polling ------------------------------------------------------------------------------------------


def test_a_late_callback_is_replaced_by_polling(stub, pending, settings):
    made = sent(pending)
    assert selectors.kyc_checks_late() == []
    KycProfile.objects.filter(pk=made.pk).update(check_sent_at=timezone.now() - timedelta(minutes=20))
    assert selectors.kyc_checks_late() == [made.pk]
    stub.polled = (200, {"id": "chk_1", "status": "needs_review", "reasons": ["sanctions list hit"]})
    tasks.kyc_check_poll.apply(args=[str(made.pk)])
    assert stub.requests[-1]["method"] == "GET" and stub.requests[-1]["path"] == "/checks/chk_1"
    made.refresh_from_db()
    assert made.status == KycProfile.Status.NEEDS_REVIEW and made.provider_reasons == ["sanctions list hit"]
    assert selectors.kyc_checks_late() == []


def test_a_poll_that_finds_the_check_still_pending_changes_nothing(stub, pending):
    made = sent(pending)
    stub.polled = (200, {"id": "chk_1", "status": "pending"})
    assert services.kyc_check_poll(profile_id=made.pk).status == KycProfile.Status.PENDING


def test_the_sweep_is_scheduled_and_enqueues_polls_and_resends(stub, pending, settings, monkeypatch):
    assert settings.CELERY_BEAT_SCHEDULE["compliance-kyc-checks-sweep"]["task"] == "compliance.tasks.kyc_checks_sweep"
    made = sent(pending)
    KycProfile.objects.filter(pk=made.pk).update(check_sent_at=timezone.now() - timedelta(hours=1))
    polled: list[str] = []
    monkeypatch.setattr(tasks.kyc_check_poll, "delay", polled.append)
    assert tasks.kyc_checks_sweep.apply().get() == 1
    assert polled == [str(made.pk)]
