"""WithdrawSaga: screen → hold → payout → capture when paid, release when the payout fails."""

import pytest
from django.utils import timezone

from crowdpay.errors import ReasonRequired
from sagas import services
from sagas.errors import SagaError
from sagas.models import Payout, Saga, SagaStep
from sagas.tests.conftest import UNREACHABLE, advance
from wallets.integrity import reconcile
from wallets.models import Event, Hold, Posting
from wallets.tests.factories import balance_of

pytestmark = pytest.mark.django_db


def start(wallet, *, amount=300_00, reference="wd-1", destination="iban:DE89370400440532013000"):
    return services.withdraw_start(
        wallet_id=wallet.id,
        amount=amount,
        currency="USD",
        destination=destination,
        reference=reference,
        requested_by="user:1",
    )


def test_a_paid_payout_captures_the_hold(wallet):
    saga = advance(start(wallet))
    assert saga.state == Saga.State.PAYOUT_REQUESTED
    assert balance_of(wallet) == (1000_00, 300_00)
    payout = Payout.objects.get(saga=saga)
    assert (payout.status, payout.amount, payout.destination) == ("PENDING", 300_00, "iban:DE89370400440532013000")
    assert advance(saga).state == Saga.State.PAYOUT_REQUESTED  # waits for finance
    services.payout_mark(payout_id=payout.id, paid=True, actor="finance:1")
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (700_00, 0)
    legs = sorted(Posting.objects.filter(journal_id=saga.journal_id).values_list("account", "amount"))
    assert legs == [("payouts:USD", 300_00), (f"wallet:{wallet.id}", -300_00)]
    assert Hold.objects.get(pk=saga.hold_id).status == "CAPTURED"
    assert reconcile() == []


def test_a_failed_payout_releases_the_hold(wallet):
    saga = advance(start(wallet))
    payout = Payout.objects.get(saga=saga)
    with pytest.raises(ReasonRequired) as info:
        services.payout_mark(payout_id=payout.id, paid=False, actor="finance:1")
    assert (info.value.code, info.value.status) == ("reason_required", 400)
    services.payout_mark(payout_id=payout.id, paid=False, actor="finance:1", reason="account closed")
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "payout_failed")
    assert balance_of(wallet) == (1000_00, 0)
    assert Event.objects.filter(wallet=wallet).last().type == "FundsReleased"
    assert [s for s, _ in SagaStep.objects.filter(saga=saga).values_list("step", "result")][-2:] == [
        "payout_status",
        "compensate",
    ]
    assert reconcile() == []


def test_marking_a_payout_is_idempotent_and_final(wallet):
    saga = advance(start(wallet))
    payout = Payout.objects.get(saga=saga)
    services.payout_mark(payout_id=payout.id, paid=True, actor="finance:1")
    again = services.payout_mark(payout_id=payout.id, paid=True, actor="finance:2")
    assert (again.status, again.decided_by) == ("PAID", "finance:1")
    with pytest.raises(SagaError) as info:
        services.payout_mark(payout_id=payout.id, paid=False, actor="finance:1", reason="oops")
    assert (info.value.code, info.value.status) == ("payout_already_settled", 409)
    with pytest.raises(SagaError) as info:
        services.payout_mark(payout_id="missing", paid=True, actor="finance:1")
    assert info.value.status == 404


def test_marking_a_payout_resumes_its_saga_on_commit(wallet, django_capture_on_commit_callbacks):
    saga = advance(start(wallet))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.payout_mark(payout_id=Payout.objects.get(saga=saga).id, paid=True, actor="finance:1")
    assert len(callbacks) == 1


def test_insufficient_funds_fails_without_a_hold(wallet):
    saga = advance(start(wallet, amount=2000_00))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "insufficient_funds")
    assert balance_of(wallet) == (1000_00, 0)
    assert not Payout.objects.exists()


def test_a_withdrawal_over_the_velocity_limit_is_declined(wallet, settings):
    settings.WALLET_DEFAULT_LIMIT = 100_00
    saga = advance(start(wallet))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "velocity_limit_exceeded")
    assert not Hold.objects.exists()


def test_a_destination_is_required(wallet):
    with pytest.raises(SagaError) as info:
        start(wallet, destination=" ")
    assert (info.value.code, info.value.status) == ("destination_required", 400)


def test_review_reject_fails_the_withdrawal(wallet, review_screening):
    saga = advance(start(wallet))
    assert saga.state == Saga.State.IN_REVIEW
    saga = services.saga_review_decide(saga_id=saga.id, approve=False, actor="officer:1", reason="mule account")
    assert saga.state == Saga.State.FAILED
    assert balance_of(wallet) == (1000_00, 0)


def test_review_approve_continues_to_the_payout(wallet, review_screening):
    saga = advance(start(wallet))
    services.saga_review_decide(saga_id=saga.id, approve=True, actor="officer:1", reason="verified by phone")
    assert advance(saga).state == Saga.State.PAYOUT_REQUESTED


def test_an_unreachable_settlement_service_is_retried_then_compensated(wallet, settings):
    settings.SETTLEMENT_SERVICE_ENDPOINT = UNREACHABLE
    settings.SAGA_MAX_ATTEMPTS = 3
    saga = advance(start(wallet))
    assert (saga.state, saga.attempts) == (Saga.State.FUNDS_HELD, 1)
    assert saga.next_attempt_at > timezone.now()
    assert services.retry_delay(saga) > 0
    assert advance(saga).attempts == 2
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "gateway_unavailable")
    assert balance_of(wallet) == (1000_00, 0)
    results = list(SagaStep.objects.filter(saga=saga, step="payout_request").values_list("result", flat=True))
    assert results == ["retry", "retry", "gave_up"]
    assert reconcile() == []


def test_a_remote_settlement_service_pays_out(wallet, settings, local_service):
    settings.SETTLEMENT_SERVICE_ENDPOINT = local_service.url
    status = {"value": "PENDING"}
    local_service.routes[("POST", "/payouts")] = lambda r: (201, {"status": "PENDING"})
    local_service.routes[("GET", "/payouts/")] = lambda r: (200, {"status": status["value"]})
    saga = advance(start(wallet))
    assert saga.state == Saga.State.PAYOUT_REQUESTED
    posted = local_service.requests[0]
    assert posted["json"] == {
        "reference": str(saga.id),
        "amount": 300_00,
        "currency": "USD",
        "destination": "iban:DE89370400440532013000",
    }
    assert posted["headers"]["Idempotency-Key"] == str(saga.id)
    status["value"] = "PAID"
    assert advance(saga).state == Saga.State.SUCCEEDED
    assert local_service.requests[-1]["path"] == f"/payouts/{saga.id}"
    assert balance_of(wallet) == (700_00, 0)


def test_a_remote_payout_paid_at_once_is_captured_in_the_same_run(wallet, settings, local_service):
    settings.SETTLEMENT_SERVICE_ENDPOINT = local_service.url
    local_service.routes[("POST", "/payouts")] = lambda r: (200, {"status": "PAID"})
    local_service.routes[("GET", "/payouts/")] = lambda r: (200, {"status": "PAID"})
    assert advance(start(wallet)).state == Saga.State.SUCCEEDED


def test_a_rejected_remote_payout_is_compensated(wallet, settings, local_service):
    settings.SETTLEMENT_SERVICE_ENDPOINT = local_service.url
    local_service.routes[("POST", "/payouts")] = lambda r: (422, {"code": "invalid_destination"})
    saga = advance(start(wallet))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "invalid_destination")
    assert balance_of(wallet) == (1000_00, 0)


def test_an_unknown_payout_status_is_never_compensated(wallet, settings, local_service):
    """Once a payout was requested, a settlement outage must not release the hold: the money may
    have left. The saga keeps polling."""
    settings.SAGA_MAX_ATTEMPTS = 2
    settings.SETTLEMENT_SERVICE_ENDPOINT = local_service.url
    local_service.routes[("POST", "/payouts")] = lambda r: (201, {"status": "PENDING"})
    local_service.routes[("GET", "/payouts/")] = lambda r: (503, {})
    saga = advance(start(wallet))
    for _ in range(3):
        saga = advance(saga)
    assert (saga.state, saga.attempts) == (Saga.State.PAYOUT_REQUESTED, 3)
    assert balance_of(wallet) == (1000_00, 300_00)
    local_service.routes[("GET", "/payouts/")] = lambda r: (404, {"code": "unknown"})
    assert advance(saga).state == Saga.State.PAYOUT_REQUESTED


def test_the_hold_and_payout_steps_run_twice_have_one_effect(wallet):
    saga = start(wallet)
    services.step_run(saga)
    approved = Saga.objects.get(pk=saga.id)
    services.step_run(approved)
    services.step_run(approved)
    assert Hold.objects.count() == 1
    assert balance_of(wallet) == (1000_00, 300_00)
    held = Saga.objects.get(pk=saga.id)
    services.step_run(held)
    services.step_run(held)
    assert Payout.objects.count() == 1
    assert SagaStep.objects.filter(saga=saga, step="payout_request").count() == 1
    services.payout_mark(payout_id=Payout.objects.get().id, paid=True, actor="finance:1")
    requested = Saga.objects.get(pk=saga.id)
    services.step_run(requested)
    services.step_run(requested)
    assert balance_of(wallet) == (700_00, 0)
    assert Event.objects.filter(wallet=wallet, type="WalletDebited").count() == 1


def test_the_compensation_step_run_twice_releases_once(wallet):
    saga = advance(start(wallet))
    services.payout_mark(payout_id=Payout.objects.get().id, paid=False, actor="finance:1", reason="bounced")
    services.step_run(Saga.objects.get(pk=saga.id))
    compensating = Saga.objects.get(pk=saga.id)
    assert compensating.state == Saga.State.COMPENSATING
    services.step_run(compensating)
    services.step_run(compensating)
    assert Event.objects.filter(wallet=wallet, type="FundsReleased").count() == 1
    assert Saga.objects.get(pk=saga.id).state == Saga.State.FAILED
