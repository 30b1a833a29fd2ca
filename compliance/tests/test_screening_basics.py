"""Screening's first rules: wallet status and the 24 h velocity limit."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.screening import screen
from wallets import services
from wallets.models import JournalEntry
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db


def test_unknown_closed_and_frozen_wallets():
    assert screen(operation="credit", wallet_id=uuid.uuid4(), amount=1, currency="USD").code == "wallet_not_found"
    closed = WalletFactory()
    services.wallet_close(wallet_id=closed.id, actor="o", reason="r")
    assert screen(operation="credit", wallet_id=closed.id, amount=1, currency="USD").code == "wallet_closed"
    frozen = WalletFactory()
    services.wallet_freeze(wallet_id=frozen.id, actor="o", reason="r")
    assert screen(operation="credit", wallet_id=frozen.id, amount=1, currency="USD").approved
    assert screen(operation="transfer", wallet_id=frozen.id, amount=1, currency="USD").code == "wallet_frozen"


def test_velocity_limit_counts_the_trailing_24_hours(settings):
    settings.WALLET_DEFAULT_LIMIT = 1000
    wallet, other = funded(amount=5000), WalletFactory()
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=600, currency="USD"
    )
    assert screen(operation="withdraw", wallet_id=wallet.id, amount=400, currency="USD").approved
    over = screen(operation="withdraw", wallet_id=wallet.id, amount=401, currency="USD")
    assert (over.outcome, over.code) == ("decline", "velocity_limit_exceeded")
    JournalEntry.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert screen(operation="withdraw", wallet_id=wallet.id, amount=1000, currency="USD").approved
