"""`wallet_open(wallet_id=...)`: a wallet opened under an id chosen by an operator or a fixture."""

import uuid

import pytest

from wallets import services
from wallets.errors import LedgerError
from wallets.integrity import reconcile
from wallets.models import Event, Wallet

pytestmark = pytest.mark.django_db


def test_open_under_a_chosen_id_starts_its_stream(owner_id):
    wallet_id = uuid.UUID("c5333751-6d63-49b9-91af-37933f163f98")
    wallet = services.wallet_open(owner_id=owner_id, kind="USER", base_currency="USD", wallet_id=wallet_id)
    assert wallet.id == wallet_id
    assert list(Event.objects.filter(wallet_id=wallet_id).values_list("type", flat=True)) == ["WalletOpened"]
    assert reconcile() == []


def test_open_refuses_an_id_already_taken(owner_id):
    wallet = services.wallet_open(owner_id=owner_id, kind="USER", base_currency="USD")
    with pytest.raises(LedgerError) as info:
        services.wallet_open(owner_id=uuid.uuid4(), kind="POD", base_currency="EUR", wallet_id=wallet.id)
    assert info.value.code == "reference_conflict"
    assert Wallet.objects.count() == 1
    assert Event.objects.filter(wallet_id=wallet.id).count() == 1
