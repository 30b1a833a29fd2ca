"""FundingSaga: screen → confirm with the payment gateway → credit from the house funding account."""

import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from crowdpay.errors import ReasonRequired
from sagas import gateways, services
from sagas.errors import SagaError
from sagas.gateways import GatewayRejected, GatewayUnavailable
from sagas.gateways.funding import SandboxFundingGateway
from sagas.models import Saga, SagaStep
from sagas.selectors import operation_as_dict
from sagas.tests.conftest import advance
from wallets import services as ledger
from wallets.errors import LedgerError
from wallets.integrity import reconcile
from wallets.models import Event, JournalEntry, Posting
from wallets.tests.factories import WalletFactory, balance_of

pytestmark = pytest.mark.django_db


def start(wallet, *, amount=500_00, reference="op-1", source_reference="ch_test_ok_1Nx32", **kw):
    return services.funding_start(
        wallet_id=wallet.id,
        amount=amount,
        currency=kw.pop("currency", "USD"),
        source="CARD",
        source_reference=source_reference,
        reference=reference,
        requested_by="user:1",
    )


def steps(saga) -> list[tuple[str, str]]:
    return list(SagaStep.objects.filter(saga=saga).values_list("step", "result"))


def the_charge(saga) -> dict:
    """The refund of `start`'s charge, as the gateway is asked for it."""
    return {
        "source": "CARD",
        "source_reference": "ch_test_ok_1Nx32",
        "amount": 500_00,
        "currency": "USD",
        "reference": f"saga:{saga.id}:refund",
    }


class RecordingFundingGateway(SandboxFundingGateway):
    """The sandbox gateway, keeping every refund it is asked for; `failures` are raised first, one
    per call, as a payment provider's outage or refusal would be."""

    def __init__(self) -> None:
        self.refunds: list[dict] = []
        self.failures: list[Exception] = []
        self.confirm_failures: list[Exception] = []

    def confirm(self, **kwargs) -> None:
        if self.confirm_failures:
            raise self.confirm_failures.pop(0)
        super().confirm(**kwargs)

    def refund(self, **kwargs) -> None:
        self.refunds.append(kwargs)
        if self.failures:
            raise self.failures.pop(0)
        super().refund(**kwargs)


@pytest.fixture
def funding_gateway(monkeypatch):
    gateway = RecordingFundingGateway()
    monkeypatch.setattr(gateways, "funding_gateway", lambda: gateway)
    return gateway


@pytest.fixture
def empty_wallet(db):
    return WalletFactory()  # only an empty wallet can be closed


def confirmed_then_closed(wallet) -> Saga:
    """A funding whose charge the gateway confirmed, on a wallet closed before the credit step."""
    saga = start(wallet)
    services.step_run(saga)
    services.step_run(Saga.objects.get(pk=saga.id))
    assert Saga.objects.get(pk=saga.id).state == Saga.State.CONFIRMED
    ledger.wallet_close(wallet_id=wallet.id, actor="officer", reason="customer left")
    return Saga.objects.get(pk=saga.id)


def refund_results(saga) -> list[str]:
    return [result for step, result in steps(saga) if step == "refund"]


def test_funding_credits_the_wallet_from_the_funding_account(wallet):
    saga = start(wallet)
    assert saga.state == Saga.State.STARTED and saga.next_attempt_at is not None
    assert operation_as_dict(saga)["status"] == "PENDING"
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED and saga.next_attempt_at is None
    assert balance_of(wallet) == (1500_00, 0)
    legs = sorted(Posting.objects.filter(journal_id=saga.journal_id).values_list("account", "amount"))
    assert legs == [("funding:USD", -500_00), (f"wallet:{wallet.id}", 500_00)]
    credited = Event.objects.filter(wallet=wallet, type="WalletCredited").last().data
    assert credited["saga_id"] == str(saga.id)
    assert steps(saga) == [("start", "accepted"), ("screen", "approve"), ("confirm", "ok"), ("credit", "ok")]
    op = operation_as_dict(saga)
    assert op["status"] == "SUCCEEDED" and op["error"] is None and op["amount"] == 500_00
    assert reconcile() == []


def test_start_enqueues_the_saga_on_commit(wallet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start(wallet)
    # the saga's task is enqueued once (other callbacks, e.g. metrics, may run on commit too)
    assert [cb.__qualname__ for cb in callbacks].count("enqueue.<locals>.send") == 1


def test_same_reference_returns_the_same_saga_with_one_effect(wallet):
    first = start(wallet)
    again = start(wallet)
    assert again.id == first.id
    advance(first)
    advance(first)
    assert start(wallet).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)
    assert Saga.objects.count() == 1


def test_same_reference_with_other_parameters_is_refused(wallet):
    start(wallet)
    with pytest.raises(SagaError) as info:
        start(wallet, amount=1)
    assert (info.value.code, info.value.status) == ("idempotency_key_reused", 422)
    with pytest.raises(SagaError):
        services.withdraw_start(
            wallet_id=wallet.id, amount=500_00, currency="USD", destination="x", reference="op-1", requested_by="u"
        )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": 0}, "invalid_amount"),
        ({"amount": 10**16}, "amount_too_large"),
        ({"currency": "XXX"}, "unsupported_currency"),
        ({"reference": ""}, "invalid_reference"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(wallet, change, code):
    with pytest.raises((SagaError, LedgerError)) as info:
        start(wallet, **change)
    assert info.value.code == code
    assert not Saga.objects.exists()


@pytest.mark.parametrize("wallet_id", ["not-a-uuid", "3946fb93-9f9a-4c79-b264-6592b8ab4c67"])
def test_unknown_wallet_is_not_found(db, wallet_id):
    with pytest.raises(LedgerError) as info:
        services.funding_start(
            wallet_id=wallet_id,
            amount=1,
            currency="USD",
            source="CARD",
            source_reference="ch_test_ok_1",
            reference="r",
            requested_by="u",
        )
    assert (info.value.code, info.value.status) == ("wallet_not_found", 404)


def test_a_declined_funding_fails_with_the_decision_code(db):
    closed = WalletFactory()
    ledger.wallet_close(wallet_id=closed.id, actor="officer", reason="customer left")
    saga = advance(start(closed))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    assert operation_as_dict(saga)["error"] == {"code": "wallet_closed", "detail": "the wallet is closed"}
    assert not JournalEntry.objects.filter(reference__startswith=f"saga:{saga.id}").exists()


def test_the_payment_gateway_declining_fails_the_funding(wallet):
    saga = advance(start(wallet, source_reference="ch_test_declined_1"))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "charge_declined")
    assert balance_of(wallet) == (1000_00, 0)


def test_review_then_approve_completes_the_funding(wallet, review_screening):
    saga = advance(start(wallet))
    assert saga.state == Saga.State.IN_REVIEW and saga.next_attempt_at is None
    assert operation_as_dict(saga)["status"] == "IN_REVIEW"
    reasons = ("a large amount for this wallet",)
    assert review_screening == [{"saga_id": saga.id, "wallet_id": wallet.id, "code": "risk_review", "reasons": reasons}]
    assert advance(saga).state == Saga.State.IN_REVIEW  # nothing moves without an officer
    saga = services.saga_review_decide(saga_id=saga.id, approve=True, actor="officer:7", reason="known customer")
    assert saga.state == Saga.State.APPROVED
    again = services.saga_review_decide(saga_id=saga.id, approve=True, actor="officer:7", reason="twice")
    assert again.state == Saga.State.APPROVED
    assert advance(saga).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)
    review = SagaStep.objects.get(saga=saga, step="review")
    assert review.detail == {"actor": "officer:7", "reason": "known customer"}


def test_review_then_reject_fails_the_funding_without_effect(wallet, review_screening):
    saga = advance(start(wallet))
    with pytest.raises(ReasonRequired) as info:
        services.saga_review_decide(saga_id=saga.id, approve=False, actor="officer:7", reason=" ")
    assert (info.value.code, info.value.status) == ("reason_required", 400)
    saga = services.saga_review_decide(saga_id=saga.id, approve=False, actor="officer:7", reason="stolen card")
    assert (saga.state, saga.error_code, saga.error_detail) == (Saga.State.FAILED, "review_rejected", "stolen card")
    assert balance_of(wallet) == (1000_00, 0)
    with pytest.raises(SagaError) as info:
        services.saga_review_decide(saga_id=saga.id, approve=True, actor="officer:7", reason="changed my mind")
    assert (info.value.code, info.value.status) == ("saga_not_in_review", 409)


def test_deciding_an_unknown_saga_is_not_found(db):
    with pytest.raises(SagaError) as info:
        services.saga_review_decide(saga_id="nope", approve=True, actor="o", reason="r")
    assert info.value.status == 404


def test_the_credit_step_run_twice_has_one_effect(wallet):
    saga = start(wallet)
    services.step_run(saga)
    services.step_run(Saga.objects.get(pk=saga.id))
    confirmed = Saga.objects.get(pk=saga.id)
    assert confirmed.state == Saga.State.CONFIRMED
    services.step_run(confirmed)
    services.step_run(confirmed)  # a second runner holding the same stale snapshot
    assert balance_of(wallet) == (1500_00, 0)
    assert JournalEntry.objects.filter(reference=f"saga:{saga.id}:credit").count() == 1
    assert SagaStep.objects.filter(saga=saga, step="credit").count() == 1


def test_the_screen_step_run_twice_has_one_effect(wallet):
    saga = start(wallet)
    services.step_run(saga)
    services.step_run(saga)
    assert SagaStep.objects.filter(saga=saga, step="screen").count() == 1
    assert Saga.objects.get(pk=saga.id).state == Saga.State.APPROVED


def test_a_credit_refused_after_the_charge_refunds_it_then_fails(empty_wallet, funding_gateway):
    saga = confirmed_then_closed(empty_wallet)
    entries, house = JournalEntry.objects.count(), Posting.objects.filter(account="funding:USD").count()
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    assert saga.next_attempt_at is None
    refusal = {"code": "wallet_closed", "detail": f"wallet {empty_wallet.id} is closed"}
    assert operation_as_dict(saga)["error"] == refusal
    assert steps(saga) == [
        ("start", "accepted"),
        ("screen", "approve"),
        ("confirm", "ok"),
        ("credit", "refused"),
        ("refund", "refunded"),
    ]
    assert funding_gateway.refunds == [the_charge(saga)]
    assert JournalEntry.objects.count() == entries
    assert Posting.objects.filter(account="funding:USD").count() == house
    assert not JournalEntry.objects.filter(reference__startswith=f"saga:{saga.id}").exists()
    assert balance_of(empty_wallet) == (0, 0)
    assert reconcile() == []


def test_a_confirmed_funding_cannot_fail_without_its_refund(empty_wallet):
    saga = confirmed_then_closed(empty_wallet)
    with pytest.raises(TransitionNotAllowed):
        saga.fail()


def test_an_unavailable_refund_is_retried_and_the_saga_waits_compensating(
    empty_wallet, funding_gateway, settings, django_capture_on_commit_callbacks
):
    settings.SAGA_MAX_ATTEMPTS = 2
    funding_gateway.failures = [GatewayUnavailable("psp: HTTP 503") for _ in range(3)]
    saga = advance(confirmed_then_closed(empty_wallet))
    assert (saga.state, saga.attempts) == (Saga.State.COMPENSATING, 1)
    assert saga.next_attempt_at > timezone.now() and services.retry_delay(saga) > 0
    saga = advance(advance(saga))
    # past SAGA_MAX_ATTEMPTS the money is still owed: the saga keeps compensating, never FAILED
    assert (saga.state, saga.attempts, saga.error_code) == (Saga.State.COMPENSATING, 3, "wallet_closed")
    assert refund_results(saga) == ["retry", "retry", "retry"]
    with django_capture_on_commit_callbacks(execute=False):
        assert services.sagas_resume_due(now=saga.next_attempt_at) == 1  # the sweeper will find it
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    assert refund_results(saga) == ["retry", "retry", "retry", "refunded"]
    assert [r["reference"] for r in funding_gateway.refunds] == [f"saga:{saga.id}:refund"] * 4
    assert balance_of(empty_wallet) == (0, 0)


@pytest.mark.parametrize(("code", "recorded"), [("charge_disputed", "charge_disputed"), (None, "refund_rejected")])
def test_a_rejected_refund_stays_compensating_with_the_rejection_recorded(
    empty_wallet, funding_gateway, code, recorded
):
    funding_gateway.failures = [GatewayRejected("psp: HTTP 409", code=code)]
    saga = advance(confirmed_then_closed(empty_wallet))
    assert (saga.state, saga.error_code, saga.error_detail) == (Saga.State.COMPENSATING, recorded, "psp: HTTP 409")
    assert saga.next_attempt_at is not None  # never lost: tried again when due
    assert refund_results(saga) == ["rejected"]
    assert SagaStep.objects.get(saga=saga, step="refund").detail["code"] == recorded
    assert operation_as_dict(saga)["status"] == "PENDING"
    saga = advance(saga)  # the provider accepts the same refund once the officer has sorted it out
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    assert refund_results(saga) == ["rejected", "refunded"]
    assert len(funding_gateway.refunds) == 2


def test_the_refund_step_run_twice_refunds_once(empty_wallet, funding_gateway):
    saga = confirmed_then_closed(empty_wallet)
    services.step_run(saga)
    compensating = Saga.objects.get(pk=saga.id)
    assert (compensating.state, compensating.error_code) == (Saga.State.COMPENSATING, "wallet_closed")
    services.step_run(compensating)
    services.step_run(compensating)  # a second runner holding the same stale snapshot
    assert advance(saga).state == Saga.State.FAILED
    assert len(funding_gateway.refunds) == 1
    assert refund_results(saga) == ["refunded"]


def test_a_confirmation_that_never_answers_refunds_the_charge_it_may_have_taken(wallet, funding_gateway, settings):
    settings.SAGA_MAX_ATTEMPTS = 2
    funding_gateway.confirm_failures = [GatewayUnavailable("psp: read timed out") for _ in range(2)]
    funding_gateway.failures = [GatewayRejected("psp: HTTP 409", code="charge_locked")]
    saga = advance(start(wallet))
    assert (saga.state, saga.attempts) == (Saga.State.APPROVED, 1)
    saga = advance(saga)  # the last try: the provider may have taken the charge, so it is given back
    assert (saga.state, saga.error_code) == (Saga.State.COMPENSATING, "charge_locked")  # refund refused once
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "gateway_unavailable")  # why it failed
    assert saga.error_detail == "psp: read timed out"
    assert steps(saga)[-4:] == [
        ("confirm", "retry"),
        ("confirm", "gave_up"),
        ("refund", "rejected"),
        ("refund", "refunded"),
    ]
    assert funding_gateway.refunds == [the_charge(saga)] * 2
    assert balance_of(wallet) == (1000_00, 0)  # never credited
    assert not JournalEntry.objects.filter(reference__startswith=f"saga:{saga.id}").exists()
