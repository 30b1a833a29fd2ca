"""Ledger reads."""

import uuid

import pytest

from wallets import selectors
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db


def test_wallets_are_listed_per_owner_and_fetched_by_id():
    mine, theirs = WalletFactory(), WalletFactory()
    assert [w.id for w in selectors.wallet_list(owner_id=mine.owner_id)] == [mine.id]
    assert {w.id for w in selectors.wallet_list()} == {mine.id, theirs.id}
    assert selectors.wallet_get(wallet_id=mine.id, owner_id=mine.owner_id) == mine
    assert selectors.wallet_get(wallet_id=theirs.id, owner_id=mine.owner_id) is None
    assert selectors.wallet_get(wallet_id=uuid.uuid4()) is None


def test_event_pages_follow_the_version_cursor():
    wallet = funded(amount=10)
    first = selectors.event_page(wallet_id=wallet.id, limit=1)
    assert [e.version for e in first] == [1]
    assert [e.type for e in selectors.event_page(wallet_id=wallet.id, after=1)] == ["WalletCredited"]


def test_balance_totals_per_currency():
    funded(amount=10)
    funded(amount=5)
    funded(amount=7, currency="EUR")
    assert selectors.balance_totals() == {"EUR": 7, "USD": 15}
