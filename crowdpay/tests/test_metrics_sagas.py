"""After real sagas run, /metrics shows the domain metrics with the right values."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sagas import queue, services
from sagas.models import Payout, Saga
from wallets.tests.factories import funded

pytestmark = pytest.mark.django_db
# Metrics are recorded once work commits: the tests run the on-commit callbacks as a commit would.


def scrape(client) -> dict:
    body = client.get("/metrics").content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def run_by_hand(monkeypatch):
    """Steps are driven here, one by one, instead of by a worker."""
    monkeypatch.setattr(queue, "enqueue", lambda saga_id, countdown=None, marked=False: None)

    def advance(saga):
        while True:
            moved = services.saga_advance(saga_id=saga.id)
            if moved.state == saga.state:
                return moved
            saga = moved

    return advance


def test_a_credit_and_a_failed_withdrawal_show_in_metrics(client, run_by_hand, django_capture_on_commit_callbacks):
    wallet = funded(amount=1000_00)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        run_credit_and_failed_withdrawal(wallet, run_by_hand)
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "wallet_balance_total", currency="USD") == 1250_00  # 1000 + 250, the payout released
    assert delta("operations_total", kind="funding", status="pending") == 1
    assert delta("operations_total", kind="funding", status="succeeded") == 1
    assert delta("operations_total", kind="withdraw", status="pending") == 1
    assert delta("operations_total", kind="withdraw", status="failed") == 1
    assert delta("saga_failure_total", kind="withdraw", code="payout_failed") == 1
    assert delta("saga_failure_total", kind="funding", code="payout_failed") == 0
    assert delta("saga_duration_seconds_count", kind="funding", status="succeeded") == 1
    assert delta("saga_duration_seconds_count", kind="withdraw", status="failed") == 1
    assert delta("risk_decisions_total", outcome="approve", code="none") == 2


def run_credit_and_failed_withdrawal(wallet, run_by_hand):
    credit = services.funding_start(
        wallet_id=wallet.id, amount=250_00, currency="USD", source="CARD",
        source_reference="ch_test_ok_1", reference="credit-1", requested_by="user:1",
    )  # fmt: skip
    credit = run_by_hand(credit)
    assert credit.state == Saga.State.SUCCEEDED

    withdrawal = services.withdraw_start(
        wallet_id=wallet.id, amount=300_00, currency="USD", destination="iban:DE89370400440532013000",
        reference="withdraw-1", requested_by="user:1",
    )  # fmt: skip
    withdrawal = run_by_hand(withdrawal)
    payout = Payout.objects.get(saga=withdrawal)
    services.payout_mark(payout_id=payout.id, paid=False, actor="finance:1", reason="account closed")
    withdrawal = run_by_hand(withdrawal)
    assert (withdrawal.state, withdrawal.error_code) == (Saga.State.FAILED, "payout_failed")


def test_a_velocity_decline_is_counted(client, run_by_hand, settings, django_capture_on_commit_callbacks):
    settings.WALLET_DEFAULT_LIMIT = 100_00
    wallet = funded(amount=1000_00)
    other = funded(amount=1)
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        declined = services.transfer_start(
            from_wallet_id=wallet.id, to_wallet_id=other.id, amount=500_00, currency="USD",
            memo="", reference="t-1", requested_by="user:1",
        )  # fmt: skip
    assert (declined.state, declined.error_code) == (Saga.State.FAILED, "velocity_limit_exceeded")

    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("operations_total", kind="transfer", status="pending") == 1
    assert delta("operations_total", kind="transfer", status="failed") == 1
    assert delta("saga_failure_total", kind="transfer", code="velocity_limit_exceeded") == 1
    assert delta("risk_decisions_total", outcome="decline", code="velocity_limit_exceeded") == 1
    assert delta("velocity_declines_total", operation="transfer") == 1
