"""Review cases: a soft-declined saga waits for an officer; approving resumes it, rejecting fails it
(with its compensation: nothing held stays held)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services
from compliance.errors import ComplianceError
from compliance.models import AuditEntry, ReviewCase
from crowdpay.errors import ReasonRequired
from sagas import services as sagas
from sagas.models import Saga
from wallets.integrity import reconcile
from wallets.models import Hold
from wallets.tests.factories import WalletFactory, balance_of

pytestmark = pytest.mark.django_db


def risky_funding(wallet) -> Saga:
    """A credit that the rule score sends to review: young wallet, a currency the owner never used,
    a large amount with no history (15 + 15 + 20 = RISK_REVIEW_SCORE)."""
    saga = sagas.funding_start(
        wallet_id=wallet.id,
        amount=2500_00,
        currency="EUR",
        source="CARD",
        source_reference=f"ch_test_ok_{uuid.uuid4().hex}",
        reference=f"op-{uuid.uuid4()}",
        requested_by="user:1",
    )
    return sagas.saga_advance(saga_id=saga.id)


def test_approving_a_case_lets_its_saga_complete(verified_wallet, officer):
    saga = risky_funding(verified_wallet)
    assert saga.state == Saga.State.IN_REVIEW
    case = ReviewCase.objects.get(saga_id=saga.id)
    assert (case.status, case.code, case.wallet_id, case.owner_id) == (
        "OPEN",
        "risk_review",
        verified_wallet.id,
        verified_wallet.owner_id,
    )
    assert any("EUR" in r for r in case.reasons)

    decided = services.review_case_approve(case_id=case.id, officer=officer, reason="customer called, trip abroad")
    assert decided.status == ReviewCase.Status.APPROVED and decided.decided_by == officer
    assert Saga.objects.get(pk=saga.id).state == Saga.State.APPROVED
    saga = sagas.saga_advance(saga_id=saga.id)
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(verified_wallet, "EUR") == (2500_00, 0)
    audit = AuditEntry.objects.get(action="review_approve")
    assert (audit.actor, audit.object_id, audit.reason) == (officer, str(case.id), "customer called, trip abroad")
    review = saga.steps.filter(step="review").get()
    assert review.result == "approved" and review.detail["actor"] == "officer:olivia"
    assert reconcile() == []


def test_rejecting_a_case_fails_its_saga_with_nothing_left_held(verified_wallet, officer, settings):
    settings.RISK_REVIEW_SCORE = 25  # young wallet (15) + new counterparty (10)
    other = WalletFactory()
    saga = sagas.transfer_start(
        from_wallet_id=verified_wallet.id,
        to_wallet_id=other.id,
        amount=400_00,
        currency="USD",
        memo="",
        reference="t-1",
        requested_by="user:1",
    )
    assert saga.state == Saga.State.IN_REVIEW
    case = ReviewCase.objects.get(saga_id=saga.id)
    services.review_case_reject(case_id=case.id, officer=officer, reason="mule pattern")
    saga.refresh_from_db()
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "review_rejected")
    assert balance_of(verified_wallet) == (1000_00, 0) and balance_of(other) == (0, 0)
    assert not Hold.objects.filter(wallet=verified_wallet, status=Hold.Status.HELD).exists()
    assert ReviewCase.objects.get(pk=case.id).status == ReviewCase.Status.REJECTED
    assert AuditEntry.objects.filter(action="review_reject", object_id=str(case.id)).exists()
    assert reconcile() == []


def test_a_case_is_decided_once(verified_wallet, officer):
    case = ReviewCase.objects.get(saga_id=risky_funding(verified_wallet).id)
    services.review_case_approve(case_id=case.id, officer=officer, reason="ok")
    with pytest.raises(ComplianceError) as info:
        services.review_case_reject(case_id=case.id, officer=officer, reason="changed my mind")
    assert (info.value.code, info.value.status) == ("review_case_decided", 409)
    assert Saga.objects.get(pk=case.saga_id).state == Saga.State.APPROVED


def test_a_decision_needs_a_reason_and_an_existing_case(verified_wallet, officer):
    case = ReviewCase.objects.get(saga_id=risky_funding(verified_wallet).id)
    with pytest.raises(ReasonRequired) as info:
        services.review_case_approve(case_id=case.id, officer=officer, reason="  ")
    assert (info.value.code, info.value.status) == ("reason_required", 400)
    with pytest.raises(ComplianceError) as info:
        services.review_case_approve(case_id=uuid.uuid4(), officer=officer, reason="x")
    assert info.value.status == 404
    assert ReviewCase.objects.get(pk=case.id).status == "OPEN"


def test_opening_a_case_twice_gives_the_same_case(verified_wallet):
    saga_id = uuid.uuid4()
    one = services.review_case_open(saga_id=saga_id, wallet_id=verified_wallet.id, code="risk_review", reasons=("a",))
    two = services.review_case_open(saga_id=saga_id, wallet_id=verified_wallet.id, code="other", reasons=())
    assert one.pk == two.pk and two.code == "risk_review" and ReviewCase.objects.count() == 1


def test_the_audit_log_is_append_only(officer):
    entry = services.audit_record(officer=officer, action="test", object_type="wallet", object_id="w", reason="r")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="edited")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_to_edit_the_audit_log(officer):
    from django.db import DatabaseError, connection, transaction

    entry = services.audit_record(officer=officer, action="test", object_type="wallet", object_id="w", reason="r")
    for sql in (
        "UPDATE compliance_auditentry SET reason = 'edited' WHERE id = %s",
        "DELETE FROM compliance_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])


def test_a_saga_left_in_review_without_a_case_gets_one_from_the_sweep(verified_wallet, monkeypatch):
    # The process "dies" between committing IN_REVIEW and opening the case.
    monkeypatch.setattr(services, "review_case_open", lambda **kwargs: None)
    saga = risky_funding(verified_wallet)
    assert saga.state == Saga.State.IN_REVIEW and not ReviewCase.objects.filter(saga_id=saga.id).exists()
    monkeypatch.undo()

    assert services.review_cases_open_missing() == 0  # too young: the saga may still be opening it
    Saga.objects.filter(pk=saga.id).update(updated_at=timezone.now() - timedelta(minutes=2))
    assert services.review_cases_open_missing() == 1
    case = ReviewCase.objects.get(saga_id=saga.id)
    assert case.code == "risk_review" and any("EUR" in r for r in case.reasons)
    assert services.review_cases_open_missing() == 0


def test_the_missing_case_sweep_runs_as_a_task(verified_wallet, monkeypatch):
    from compliance import tasks

    monkeypatch.setattr(services, "review_case_open", lambda **kwargs: None)
    saga = risky_funding(verified_wallet)
    monkeypatch.undo()
    Saga.objects.filter(pk=saga.id).update(updated_at=timezone.now() - timedelta(minutes=2))
    assert tasks.review_cases_open_missing() == 1
    assert ReviewCase.objects.filter(saga_id=saga.id).exists()
