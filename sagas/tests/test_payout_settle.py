"""`manage.py payout_settle`: finance staff settle a queued payout from the shell, through the same
service as the admin's "mark paid" / "mark failed" actions (`sagas.services.payout_mark`)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sagas import services
from sagas.models import Payout, Saga
from sagas.tests.conftest import advance
from wallets.integrity import reconcile
from wallets.tests.factories import balance_of

pytestmark = pytest.mark.django_db


def queued(wallet, *, amount=300_00, reference="wd-cli") -> Saga:
    saga = services.withdraw_start(
        wallet_id=wallet.id,
        amount=amount,
        currency="USD",
        destination="bank_account:ba_test_1",
        reference=reference,
        requested_by="user:1",
    )
    saga = advance(saga)
    assert saga.state == Saga.State.PAYOUT_REQUESTED
    return saga


def settle(*args: str) -> str:
    out = StringIO()
    call_command("payout_settle", *args, stdout=out)
    return out.getvalue()


def test_paid_by_the_operation_id_captures_the_hold_through_the_admins_service(wallet, monkeypatch):
    saga = queued(wallet)
    calls: list[dict] = []
    real = services.payout_mark

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "payout_mark", spy)
    out = settle(str(saga.id), "--paid", "--actor", "finance:ada")
    payout = Payout.objects.get(saga=saga)
    assert calls == [
        {
            "payout_id": payout.id,
            "paid": True,
            "actor": "finance:ada",
            "reason": "marked paid with manage.py payout_settle",
        }
    ]
    assert (payout.status, payout.decided_by, payout.reason) == (
        "PAID",
        "finance:ada",
        "marked paid with manage.py payout_settle",
    )
    assert f"payout {payout.id}" in out and "PAID" in out and f"withdrawal {saga.id}" in out
    saga = advance(saga)  # what the enqueued task does once the command's transaction commits
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (700_00, 0)
    assert reconcile() == []


def test_failed_needs_a_reason_and_then_releases_the_hold(wallet):
    saga = queued(wallet)
    payout = Payout.objects.get(saga=saga)
    with pytest.raises(CommandError, match="reason_required"):
        settle(str(payout.id), "--failed")
    payout.refresh_from_db()
    assert (payout.status, payout.decided_by) == ("PENDING", "")
    settle(str(payout.id), "--failed", "--reason", "account closed")  # by the payout's own id
    payout.refresh_from_db()
    assert (payout.status, payout.reason) == ("FAILED", "account closed")
    assert payout.decided_by.endswith("(manage.py payout_settle)")  # the OS user by default
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "payout_failed")
    assert balance_of(wallet) == (1000_00, 0)
    assert reconcile() == []


def test_settling_again_the_same_way_changes_nothing_and_the_other_way_is_refused(wallet):
    saga = queued(wallet)
    payout = Payout.objects.get(saga=saga)
    settle(payout.reference, "--paid", "--actor", "finance:1", "--reason", "wired")
    out = settle(payout.reference, "--paid", "--actor", "finance:2")
    assert "already PAID: nothing changed" in out
    with pytest.raises(CommandError, match="payout_already_settled"):
        settle(payout.reference, "--failed", "--reason", "oops")
    payout.refresh_from_db()
    assert (payout.status, payout.decided_by, payout.reason) == ("PAID", "finance:1", "wired")


def test_an_unknown_payout_and_a_missing_outcome_are_refused(wallet):
    queued(wallet)
    with pytest.raises(CommandError, match="payout_not_found"):
        settle("0b5c3a52-52a8-4bd4-8a55-8f1a1d3c7e11", "--paid")
    with pytest.raises(CommandError, match="payout_not_found"):
        settle("not-a-payout", "--paid")
    with pytest.raises(CommandError):
        settle(str(Payout.objects.get().id))  # neither --paid nor --failed
    with pytest.raises(CommandError):
        settle(str(Payout.objects.get().id), "--paid", "--failed")
    assert Payout.objects.get().status == "PENDING"
