"""TransferSaga: instant when same-currency and approved; otherwise hold → FX quote → complete,
with the hold released on any failure after it."""

from decimal import Decimal

import pytest

from sagas import services
from sagas.errors import SagaError
from sagas.models import FxRate, Saga, SagaStep
from sagas.tests.conftest import UNREACHABLE, advance
from wallets import services as ledger
from wallets.errors import LedgerError
from wallets.integrity import reconcile
from wallets.models import Event, Hold, JournalEntry
from wallets.tests.factories import balance_of

pytestmark = pytest.mark.django_db


def start(source, target, *, amount=100_00, reference="tr-1", memo="Deposit for hotel", currency="USD"):
    return services.transfer_start(
        from_wallet_id=source.id,
        to_wallet_id=target.id,
        amount=amount,
        currency=currency,
        memo=memo,
        reference=reference,
        requested_by="user:1",
    )


def types(wallet) -> list[str]:
    return list(Event.objects.filter(wallet=wallet).order_by("version").values_list("type", flat=True))


def test_a_same_currency_transfer_completes_within_the_call(wallet, other_wallet):
    saga = start(wallet, other_wallet)
    assert saga.state == Saga.State.SUCCEEDED and saga.next_attempt_at is None
    assert balance_of(wallet) == (900_00, 0)
    assert balance_of(other_wallet) == (100_00, 0)
    assert types(wallet)[-2:] == ["TransferInitiated", "TransferCompleted"]
    assert types(other_wallet)[-1] == "WalletCredited"
    assert JournalEntry.objects.get(pk=saga.journal_id).reference == f"transfer:{saga.id}"
    assert list(SagaStep.objects.filter(saga=saga).values_list("step", "result")) == [
        ("start", "accepted"),  # born STARTED, like every saga
        ("screen", "approve"),
        ("transfer", "completed"),
    ]
    assert reconcile() == []


def test_the_instant_path_enqueues_nothing(wallet, other_wallet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start(wallet, other_wallet)
    # no task is enqueued (the only on-commit work is recording metrics)
    assert [cb.__qualname__ for cb in callbacks if "_enqueue" in cb.__qualname__] == []


def test_the_same_reference_moves_money_once(wallet, other_wallet):
    first = start(wallet, other_wallet)
    assert start(wallet, other_wallet).id == first.id
    assert balance_of(wallet) == (900_00, 0)
    with pytest.raises(SagaError) as info:
        start(wallet, other_wallet, memo="another memo")
    assert info.value.code == "idempotency_key_reused"


def test_insufficient_funds_is_a_failed_operation(wallet, other_wallet):
    saga = start(wallet, other_wallet, amount=5000_00)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "insufficient_funds")
    assert balance_of(wallet) == (1000_00, 0)
    assert start(wallet, other_wallet, amount=5000_00).id == saga.id


def test_a_frozen_source_is_declined(wallet, other_wallet):
    ledger.wallet_freeze(wallet_id=wallet.id, actor="officer", reason="investigation")
    saga = start(wallet, other_wallet)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_frozen")
    assert list(SagaStep.objects.filter(saga=saga).values_list("step", "result")) == [
        ("start", "accepted"),
        ("screen", "decline"),
    ]


def test_every_transfer_start_is_born_started_and_logs_its_path(wallet, other_wallet, eur_wallet):
    """Whatever the request decides (complete at once, hold for a quote, refuse on funds), the saga
    row is born in the machine's initial state and reaches its state through its transitions, each
    written in its log."""
    instant = start(wallet, other_wallet, reference="tr-instant")
    held = start(wallet, eur_wallet, reference="tr-held")
    refused = start(wallet, other_wallet, amount=5000_00, reference="tr-refused")
    assert (instant.state, held.state, refused.state) == (
        Saga.State.SUCCEEDED,
        Saga.State.FUNDS_HELD,
        Saga.State.FAILED,
    )
    logs = {
        saga.reference: list(SagaStep.objects.filter(saga=saga).values_list("step", "result"))
        for saga in (instant, held, refused)
    }
    assert logs == {
        "tr-instant": [("start", "accepted"), ("screen", "approve"), ("transfer", "completed")],
        "tr-held": [("start", "accepted"), ("screen", "approve"), ("hold", "ok")],
        "tr-refused": [("start", "accepted"), ("screen", "approve"), ("transfer", "refused")],
    }
    assert SagaStep.objects.get(saga=held, step="hold").detail == {"hold_id": str(held.hold_id)}


def test_a_saga_cannot_be_born_in_a_later_state(wallet, other_wallet):
    from sagas import state

    with pytest.raises(ValueError, match="born STARTED"):
        state.born({"kind": Saga.Kind.TRANSFER, "state": Saga.State.SUCCEEDED})


def test_a_wallet_cannot_transfer_to_itself(wallet):
    with pytest.raises(LedgerError) as info:
        start(wallet, wallet)
    assert info.value.code == "same_wallet"


def test_a_cross_currency_transfer_holds_then_converts_through_the_rates_table(wallet, eur_wallet):
    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.9137"), source="ecb")
    saga = start(wallet, eur_wallet, amount=100_01)
    assert (saga.state, saga.target_currency) == (Saga.State.FUNDS_HELD, "EUR")
    assert balance_of(wallet) == (1000_00, 100_01)
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED
    assert (saga.fx_rate, saga.fx_source, saga.target_amount) == (Decimal("0.9137"), "ecb", 91_37)
    assert balance_of(wallet) == (899_99, 0)
    assert balance_of(eur_wallet, "EUR") == (91_37, 0)
    credited = Event.objects.filter(wallet=eur_wallet, type="WalletCredited").get().data
    assert credited["conversion"]["rate"] == "0.913700000000"
    assert reconcile() == []


def test_the_inverse_rate_is_used_when_only_the_opposite_pair_is_set(wallet, eur_wallet):
    FxRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.25"))
    saga = advance(start(wallet, eur_wallet))
    assert (saga.state, saga.target_amount, saga.fx_rate) == (Saga.State.SUCCEEDED, 80_00, Decimal("0.8"))


def test_a_missing_rate_releases_the_hold(wallet, eur_wallet):
    saga = advance(start(wallet, eur_wallet))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "fx_rate_unavailable")
    assert balance_of(wallet) == (1000_00, 0)
    assert types(wallet)[-1] == "TransferFailed"
    assert reconcile() == []


def test_an_amount_too_small_to_convert_releases_the_hold(wallet, eur_wallet):
    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.001"))
    saga = advance(start(wallet, eur_wallet, amount=1))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "invalid_amount")
    assert balance_of(wallet) == (1000_00, 0)


def test_a_remote_fx_service_quotes_the_rate(wallet, eur_wallet, settings, local_service):
    settings.FX_SERVICE_ENDPOINT = local_service.url
    local_service.routes[("GET", "/quotes")] = lambda r: (200, {"rate": "0.5", "quote_id": "q-77", "source": "fxco"})
    saga = advance(start(wallet, eur_wallet))
    assert (saga.state, saga.target_amount, saga.fx_quote_id) == (Saga.State.SUCCEEDED, 50_00, "q-77")
    assert local_service.requests[0]["query"] == {"base": "USD", "quote": "EUR"}


def test_an_unreachable_fx_service_is_retried_then_compensated(wallet, eur_wallet, settings):
    settings.FX_SERVICE_ENDPOINT = UNREACHABLE
    settings.SAGA_MAX_ATTEMPTS = 2
    saga = advance(start(wallet, eur_wallet))
    assert (saga.state, saga.attempts) == (Saga.State.FUNDS_HELD, 1)
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "gateway_unavailable")
    assert Hold.objects.get(pk=saga.hold_id).status == "RELEASED"
    assert balance_of(wallet) == (1000_00, 0)


def test_a_destination_closed_before_completion_releases_the_hold(wallet, eur_wallet):
    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.9"))
    saga = start(wallet, eur_wallet)
    ledger.wallet_close(wallet_id=eur_wallet.id, actor="officer", reason="closed by owner")
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    assert balance_of(wallet) == (1000_00, 0)
    assert reconcile() == []


def test_review_then_approve_completes_the_transfer(wallet, other_wallet, review_screening):
    saga = start(wallet, other_wallet)
    assert saga.state == Saga.State.IN_REVIEW
    assert review_screening[0]["saga_id"] == saga.id
    assert balance_of(wallet) == (1000_00, 0)  # screening comes before any hold
    services.saga_review_decide(saga_id=saga.id, approve=True, actor="officer:1", reason="ok")
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(other_wallet) == (100_00, 0)
    assert [s for s, _ in SagaStep.objects.filter(saga=saga).values_list("step", "result")] == [
        "start",
        "screen",
        "review",
        "hold",
        "transfer",
    ]


def test_review_then_reject_moves_nothing(wallet, other_wallet, review_screening):
    saga = start(wallet, other_wallet)
    saga = services.saga_review_decide(saga_id=saga.id, approve=False, actor="officer:1", reason="fraud pattern")
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "review_rejected")
    assert balance_of(wallet) == (1000_00, 0)
    assert balance_of(other_wallet) == (0, 0)


def test_the_quote_and_complete_steps_run_twice_have_one_effect(wallet, eur_wallet):
    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.9"))
    saga = start(wallet, eur_wallet)
    services.step_run(saga)
    services.step_run(saga)
    assert SagaStep.objects.filter(saga=saga, step="fx_quote").count() == 1
    quoted = Saga.objects.get(pk=saga.id)
    services.step_run(quoted)
    services.step_run(quoted)
    assert balance_of(eur_wallet, "EUR") == (90_00, 0)
    assert JournalEntry.objects.filter(reference=f"transfer:{saga.id}").count() == 1
    assert reconcile() == []
