"""Replay reads only the event fields the projection declares (`projection.FIELDS`); these tests
prove the declaration is complete, so the fast replay path folds exactly what the events say."""

import uuid
from decimal import Decimal

import pytest

from wallets import services
from wallets.fx import Quote, convert
from wallets.integrity import replay, stream_effect_data
from wallets.models import Event
from wallets.projection import FIELDS, effects
from wallets.tests.factories import funded

pytestmark = pytest.mark.django_db


class _Recording(dict):
    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def _every_money_event() -> None:
    a, b = funded(amount=10_000), funded(amount=10_000)
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=b.id, amount=5, currency="USD"
    )
    started = uuid.uuid4()
    services.transfer_initiate(transfer_id=started, from_wallet_id=a.id, to_wallet_id=b.id, amount=7, currency="USD")
    services.transfer_complete(transfer_id=started, to_wallet_id=b.id)
    failed = uuid.uuid4()
    hold = services.transfer_initiate(
        transfer_id=failed, from_wallet_id=a.id, to_wallet_id=b.id, amount=9, currency="USD"
    )
    services.hold_release(hold_id=hold.id, reason="declined")
    captured = services.funds_hold(wallet_id=b.id, amount=11, currency="USD", reference="w1")
    services.hold_capture(hold_id=captured.id)
    released = services.funds_hold(wallet_id=b.id, amount=13, currency="USD", reference="w2")
    services.hold_release(hold_id=released.id, reason="payout failed")
    conversion = convert(1_000, Quote("USD", "EUR", Decimal("0.9"), "table"))
    services.currency_convert(wallet_id=a.id, conversion=conversion, reference="cv")
    services.wallet_freeze(wallet_id=a.id, actor="officer", reason="check")


def test_effects_read_no_field_beyond_the_declared_ones():
    _every_money_event()
    types = set()
    for type_, data in Event.objects.values_list("type", "data"):
        recording = _Recording(data)
        effects(type_, recording)
        assert recording.read <= set(FIELDS), (type_, recording.read - set(FIELDS))
        types.add(type_)
    assert {"WalletCredited", "WalletDebited", "FundsHeld", "FundsReleased", "TransferInitiated"} <= types
    assert {"TransferCompleted", "TransferFailed", "CurrencyConverted", "WalletFrozen"} <= types


def test_the_fields_replay_streams_give_the_same_effects_as_whole_events():
    _every_money_event()
    full = {(w, v): effects(t, d) for w, v, t, d in Event.objects.values_list("wallet_id", "version", "type", "data")}
    streamed = {(uuid.UUID(str(w)), v): effects(t, d) for w, v, t, d in stream_effect_data(batch=3)}
    assert streamed == full
    result = replay(dry_run=True)
    assert result.events == len(full) and result.mismatches == []
