"""`manage.py seed_demo`: a demo data set that the ledger's own proofs accept (every chain, seal,
balance, journal and hold checks out), with every kind of back-office object in every state."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.models import AuditEntry, KycProfile, ReviewCase, RiskAssessment
from crowdpay import demo_data
from sagas.models import Payout, Saga
from wallets.models import Balance, Event, EventSeal, Hold, Wallet
from wallets.pods.models import Pod, PodContribution
from wallets.projection import EventType

pytestmark = pytest.mark.slow


def _values(model, field: str) -> set:
    return set(model.objects.values_list(field, flat=True))


def _choices(model, field: str) -> set:
    return {value for value, _ in model._meta.get_field(field).flatchoices}


def test_seed_demo_writes_what_verify_events_and_reconcile_accept(committed_db):
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("seed_demo", "--wallets", "20", "--events", "100")
        return
    # with the foreign keys' triggers on (the command loads without them): every row's parent exists
    summary = demo_data.seed(wallets=200, events=2000, seed=7, fast=False, say=lambda message: None)

    assert summary["wallets"] == Wallet.objects.count() == 200
    assert 1900 <= summary["events"] == Event.objects.count() <= 2100
    call_command("verify_events", stdout=io.StringIO())  # exits 1 on any broken chain or seal
    call_command("reconcile", stdout=io.StringIO())  # double entry, projection = replay = postings, holds
    assert EventSeal.objects.count() == Wallet.objects.count()

    # every kind of object the back-office shows, in every state
    assert _values(Wallet, "status") == _choices(Wallet, "status")
    assert _values(Wallet, "kind") == _choices(Wallet, "kind")
    assert {"USD", "EUR", "GBP", "JPY"} <= _values(Balance, "currency")
    assert _values(Saga, "state") == _choices(Saga, "state")
    assert _values(Saga, "kind") == _choices(Saga, "kind")
    assert _values(Hold, "status") == _choices(Hold, "status")
    assert _values(Payout, "status") == _choices(Payout, "status")
    assert _values(ReviewCase, "status") == _choices(ReviewCase, "status")
    assert _values(KycProfile, "status") == _choices(KycProfile, "status")
    assert _values(RiskAssessment, "outcome") == _choices(RiskAssessment, "outcome")
    assert Pod.objects.count() == Wallet.objects.filter(kind=Wallet.Kind.POD).count()
    assert PodContribution.objects.exists()
    decided = ReviewCase.objects.exclude(status=ReviewCase.Status.OPEN)
    assert not decided.filter(decided_by=None).exists()
    assert ReviewCase.objects.filter(status=ReviewCase.Status.OPEN, decided_by=None).exists()
    for wallet in Wallet.objects.filter(status=Wallet.Status.FROZEN):
        frozen = Event.objects.filter(wallet=wallet, type=EventType.WALLET_FROZEN).latest("version")
        assert frozen.data["actor"].startswith("officer:") and frozen.data["reason"]
        assert AuditEntry.objects.filter(action="wallet_freeze", object_id=str(wallet.pk)).exists()
    # personal data encrypted at rest, readable through the model
    verified = KycProfile.objects.filter(status=KycProfile.Status.VERIFIED).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_name FROM compliance_kycprofile WHERE id = %s", [verified.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("pii1:") and verified.legal_name and verified.legal_name not in stored

    # not twice by accident; on purpose, a second data set on top that still reconciles
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", "--wallets", "10", "--events", "50")
    out = io.StringIO()
    call_command("seed_demo", "--wallets", "20", "--events", "200", "--force", "--seed", "8", stdout=out)
    assert "seed_demo: 20 wallets" in out.getvalue()
    assert Wallet.objects.count() == 220
    call_command("verify_events", stdout=io.StringIO())
    call_command("reconcile", stdout=io.StringIO())
