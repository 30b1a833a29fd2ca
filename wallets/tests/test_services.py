"""Each ledger service: what it writes, what it refuses, and that a re-run has one effect."""

import uuid
from decimal import Decimal

import pytest

from crowdpay.errors import ReasonRequired
from wallets import services
from wallets.errors import LedgerError
from wallets.fx import Quote, convert
from wallets.integrity import reconcile
from wallets.models import Event, Hold, JournalEntry, Posting, Wallet
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = pytest.mark.django_db


def codes(fn, *args, **kwargs) -> str:
    with pytest.raises(LedgerError) as info:
        fn(*args, **kwargs)
    return info.value.code


def event_types(wallet) -> list[str]:
    return list(Event.objects.filter(wallet=wallet).order_by("version").values_list("type", flat=True))


def test_open_wallet_starts_its_stream_at_version_one(owner_id):
    wallet = services.wallet_open(owner_id=owner_id, kind="POD", base_currency="JPY", metadata={"name": "Trip"})
    assert wallet.version == 1
    assert event_types(wallet) == ["WalletOpened"]
    assert balance_of(wallet, "JPY") == (0, 0)
    assert Wallet.objects.get(pk=wallet.id).status == "ACTIVE"


@pytest.mark.parametrize("currency", ["XXX", "usd", "XAU", "", None, "EURO"])
def test_open_refuses_unsupported_currency(owner_id, currency):
    assert codes(services.wallet_open, owner_id=owner_id, kind="USER", base_currency=currency) == "unsupported_currency"
    assert not Wallet.objects.exists()


def test_credit_posts_against_the_funding_house_account():
    wallet = WalletFactory()
    journal_id = services.wallet_credit(wallet_id=wallet.id, amount=500_00, currency="USD", reference="ch_1")
    assert balance_of(wallet) == (500_00, 0)
    legs = sorted(Posting.objects.filter(journal_id=journal_id).values_list("account", "amount"))
    assert legs == [("funding:USD", -500_00), (f"wallet:{wallet.id}", 500_00)]
    credited = Event.objects.get(wallet=wallet, type="WalletCredited").data
    assert credited["amount"] == 500_00 and credited["journal_id"] == str(journal_id)


def test_credit_with_the_same_reference_has_one_effect():
    wallet = WalletFactory()
    first = services.wallet_credit(wallet_id=wallet.id, amount=100, currency="USD", reference="ch_twice")
    second = services.wallet_credit(wallet_id=wallet.id, amount=100, currency="USD", reference="ch_twice")
    assert first == second
    assert balance_of(wallet) == (100, 0)
    assert JournalEntry.objects.filter(reference="ch_twice").count() == 1


def test_credit_in_a_new_currency_opens_its_balance():
    wallet = WalletFactory()
    services.wallet_credit(wallet_id=wallet.id, amount=7, currency="KWD", reference="k")
    assert balance_of(wallet, "KWD") == (7, 0)


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", True, 10**16])
def test_credit_refuses_bad_amounts(amount):
    wallet = WalletFactory()
    code = codes(services.wallet_credit, wallet_id=wallet.id, amount=amount, currency="USD", reference="x")
    assert code in {"invalid_amount", "amount_too_large"}
    assert not JournalEntry.objects.exists()


def test_credit_to_a_missing_wallet_is_refused():
    assert (
        codes(services.wallet_credit, wallet_id=uuid.uuid4(), amount=1, currency="USD", reference="x")
        == "wallet_not_found"
    )


def test_frozen_wallet_receives_but_cannot_send():
    wallet = funded(amount=100)
    other = WalletFactory()
    services.wallet_freeze(wallet_id=wallet.id, actor="officer:1", reason="suspicious")
    services.wallet_credit(wallet_id=wallet.id, amount=50, currency="USD", reference="in")
    assert balance_of(wallet) == (150, 0)
    assert codes(services.funds_hold, wallet_id=wallet.id, amount=1, currency="USD", reference="h") == "wallet_frozen"
    code = codes(
        services.transfer_execute,
        transfer_id=uuid.uuid4(),
        from_wallet_id=wallet.id,
        to_wallet_id=other.id,
        amount=1,
        currency="USD",
    )
    assert code == "wallet_frozen"


def test_closed_wallet_refuses_everything():
    wallet = WalletFactory()
    services.wallet_close(wallet_id=wallet.id, actor="officer:1", reason="customer request")
    assert (
        codes(services.wallet_credit, wallet_id=wallet.id, amount=1, currency="USD", reference="c") == "wallet_closed"
    )
    assert codes(services.wallet_unfreeze, wallet_id=wallet.id, actor="o", reason="r") == "invalid_transition"


def test_status_changes_emit_events_with_actor_and_reason():
    wallet = WalletFactory()
    services.wallet_freeze(wallet_id=wallet.id, actor="officer:7", reason="chargeback")
    services.wallet_unfreeze(wallet_id=wallet.id, actor="officer:7", reason="cleared")
    assert event_types(wallet) == ["WalletOpened", "WalletFrozen", "WalletUnfrozen"]
    frozen = Event.objects.get(wallet=wallet, type="WalletFrozen").data
    assert frozen == {"actor": "officer:7", "reason": "chargeback", "from_status": "ACTIVE", "to_status": "FROZEN"}


def test_fsm_refuses_invalid_transitions_and_blank_reasons():
    wallet = WalletFactory()
    assert codes(services.wallet_unfreeze, wallet_id=wallet.id, actor="o", reason="r") == "invalid_transition"
    with pytest.raises(ReasonRequired) as blank:
        services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="  ")
    assert (blank.value.code, blank.value.status) == ("reason_required", 400)
    services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="r")
    assert codes(services.wallet_freeze, wallet_id=wallet.id, actor="o", reason="r") == "invalid_transition"
    assert codes(services.wallet_freeze, wallet_id=uuid.uuid4(), actor="o", reason="r") == "wallet_not_found"


def test_only_an_empty_wallet_closes():
    wallet = funded(amount=1)
    assert codes(services.wallet_close, wallet_id=wallet.id, actor="o", reason="r") == "wallet_not_empty"


def test_withdrawal_hold_then_capture():
    wallet = funded(amount=1000)
    hold = services.funds_hold(wallet_id=wallet.id, amount=400, currency="USD", reference="w1")
    assert balance_of(wallet) == (1000, 400)
    services.hold_capture(hold_id=hold.id)
    services.hold_capture(hold_id=hold.id)  # a re-run has one effect
    assert balance_of(wallet) == (600, 0)
    assert Hold.objects.get(pk=hold.id).status == "CAPTURED"
    assert Posting.objects.filter(account="payouts:USD").values_list("amount", flat=True).get() == 400
    assert codes(services.hold_release, hold_id=hold.id, reason="late") == "hold_not_active"


def test_withdrawal_hold_then_release_is_idempotent():
    wallet = funded(amount=1000)
    hold = services.funds_hold(wallet_id=wallet.id, amount=400, currency="USD", reference="w1")
    again = services.funds_hold(wallet_id=wallet.id, amount=400, currency="USD", reference="w1")
    assert again.id == hold.id
    services.hold_release(hold_id=hold.id, reason="payout failed")
    services.hold_release(hold_id=hold.id, reason="payout failed")
    assert balance_of(wallet) == (1000, 0)
    assert event_types(wallet)[-2:] == ["FundsHeld", "FundsReleased"]
    assert codes(services.hold_capture, hold_id=hold.id) == "hold_not_active"
    assert codes(services.hold_release, hold_id=uuid.uuid4(), reason="x") == "hold_not_found"


def test_hold_refuses_more_than_available():
    wallet = funded(amount=100)
    services.funds_hold(wallet_id=wallet.id, amount=60, currency="USD", reference="a")
    assert (
        codes(services.funds_hold, wallet_id=wallet.id, amount=41, currency="USD", reference="b")
        == "insufficient_funds"
    )
    assert (
        codes(services.funds_hold, wallet_id=wallet.id, amount=1, currency="EUR", reference="c") == "insufficient_funds"
    )


def test_hold_reference_reused_for_other_funds_is_a_conflict():
    wallet = funded(amount=100)
    services.funds_hold(wallet_id=wallet.id, amount=10, currency="USD", reference="a")
    assert (
        codes(services.funds_hold, wallet_id=wallet.id, amount=11, currency="USD", reference="a")
        == "reference_conflict"
    )


def test_instant_transfer_records_both_phases():
    source, pod = funded(amount=1000), WalletFactory(kind="POD")
    transfer_id = uuid.uuid4()
    services.transfer_execute(
        transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=pod.id, amount=250, currency="USD"
    )
    services.transfer_execute(
        transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=pod.id, amount=250, currency="USD"
    )
    assert balance_of(source) == (750, 0) and balance_of(pod) == (250, 0)
    assert event_types(source)[-2:] == ["TransferInitiated", "TransferCompleted"]
    assert event_types(pod)[-1] == "WalletCredited"


def test_instant_transfer_refusals_write_nothing():
    source, target = funded(amount=100), WalletFactory()
    before = Event.objects.count()
    kwargs = {"transfer_id": uuid.uuid4(), "currency": "USD"}
    assert (
        codes(services.transfer_execute, from_wallet_id=source.id, to_wallet_id=target.id, amount=101, **kwargs)
        == "insufficient_funds"
    )
    assert (
        codes(services.transfer_execute, from_wallet_id=source.id, to_wallet_id=source.id, amount=1, **kwargs)
        == "same_wallet"
    )
    missing = uuid.uuid4()
    assert (
        codes(services.transfer_execute, from_wallet_id=source.id, to_wallet_id=missing, amount=1, **kwargs)
        == "wallet_not_found"
    )
    assert Event.objects.count() == before
    assert balance_of(source) == (100, 0)


def test_two_phase_transfer_complete():
    source, target = funded(amount=1000), WalletFactory()
    transfer_id = uuid.uuid4()
    hold = services.transfer_initiate(
        transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=target.id, amount=300, currency="USD"
    )
    assert balance_of(source) == (1000, 300)
    services.transfer_complete(transfer_id=transfer_id, to_wallet_id=target.id)
    services.transfer_complete(transfer_id=transfer_id, to_wallet_id=target.id)
    assert balance_of(source) == (700, 0) and balance_of(target) == (300, 0)
    assert codes(services.hold_release, hold_id=hold.id, reason="late") == "hold_not_active"


def test_two_phase_transfer_fail_releases_the_hold():
    # A transfer fails by the release of its hold (what a saga's compensation does): TransferFailed.
    source, target = funded(amount=1000), WalletFactory()
    transfer_id = uuid.uuid4()
    hold = services.transfer_initiate(
        transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=target.id, amount=300, currency="USD"
    )
    services.hold_release(hold_id=hold.id, reason="declined")
    assert balance_of(source) == (1000, 0)
    assert event_types(source)[-1] == "TransferFailed"
    assert codes(services.transfer_complete, transfer_id=transfer_id, to_wallet_id=target.id) == "hold_not_active"
    assert codes(services.hold_release, hold_id=uuid.uuid4(), reason="x") == "hold_not_found"
    assert codes(services.transfer_complete, transfer_id=uuid.uuid4(), to_wallet_id=target.id) == "hold_not_found"


def test_transfer_complete_refused_once_the_source_is_frozen():
    source, target = funded(amount=1000), WalletFactory()
    transfer_id = uuid.uuid4()
    hold = services.transfer_initiate(
        transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=target.id, amount=10, currency="USD"
    )
    services.wallet_freeze(wallet_id=source.id, actor="o", reason="r")
    assert codes(services.transfer_complete, transfer_id=transfer_id, to_wallet_id=target.id) == "wallet_frozen"
    services.hold_release(hold_id=hold.id, reason="source frozen")
    assert balance_of(source) == (1000, 0)


def test_cross_currency_transfer_routes_through_the_fx_house_account():
    source, target = funded(amount=100_00), WalletFactory(base_currency="JPY")
    conversion = convert(33_33, Quote("USD", "JPY", Decimal("151.2345"), "table"))
    services.transfer_execute(
        transfer_id=uuid.uuid4(),
        from_wallet_id=source.id,
        to_wallet_id=target.id,
        amount=33_33,
        currency="USD",
        conversion=conversion,
    )
    assert conversion.to_amount == 5040  # 33.33 * 151.2345 = 5040.6458…, rounded down to whole yen
    assert balance_of(source) == (66_67, 0) and balance_of(target, "JPY") == (5040, 0)
    fx = dict(Posting.objects.filter(account__startswith="fx:").values_list("account", "amount"))
    assert fx == {"fx:USD": 33_33, "fx:JPY": -5040}
    credited = Event.objects.get(wallet=target, type="WalletCredited").data
    assert credited["conversion"]["rate"] == "151.2345" and credited["conversion"]["rounding"] == "down"
    assert reconcile() == []


def test_conversion_must_match_the_transfer():
    source, target = funded(amount=100), WalletFactory()
    conversion = convert(50, Quote("USD", "EUR", Decimal("0.9"), "table"))
    code = codes(
        services.transfer_execute,
        transfer_id=uuid.uuid4(),
        from_wallet_id=source.id,
        to_wallet_id=target.id,
        amount=60,
        currency="USD",
        conversion=conversion,
    )
    assert code == "currency_mismatch"


def test_currency_convert_inside_a_wallet():
    wallet = funded(amount=10_000)
    conversion = convert(10_000, Quote("USD", "KWD", Decimal("0.30712"), "table"))
    services.currency_convert(wallet_id=wallet.id, conversion=conversion, reference="cv1")
    services.currency_convert(wallet_id=wallet.id, conversion=conversion, reference="cv1")
    assert balance_of(wallet) == (0, 0)
    assert balance_of(wallet, "KWD") == (30712, 0)
    assert event_types(wallet)[-1] == "CurrencyConverted"
    assert reconcile() == []


def test_fx_quote_validation():
    with pytest.raises(LedgerError):
        Quote("USD", "EUR", Decimal("0"), "table")
    with pytest.raises(LedgerError):
        Quote("USD", "EUR", Decimal("NaN"), "table")
    with pytest.raises(LedgerError):
        convert(1, Quote("KWD", "JPY", Decimal("0.001"), "table"))  # worth less than one yen


def test_reference_used_for_another_kind_is_a_conflict():
    wallet = funded(amount=100)
    conversion = convert(10, Quote("USD", "EUR", Decimal("0.9"), "table"))
    assert (
        codes(services.currency_convert, wallet_id=wallet.id, conversion=conversion, reference=f"seed:{wallet.id}")
        == "reference_conflict"
    )


def test_every_flow_leaves_the_ledger_reconciled():
    a, b = funded(amount=5000), funded(amount=5000)
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=b.id, amount=1234, currency="USD"
    )
    hold = services.funds_hold(wallet_id=b.id, amount=999, currency="USD", reference="w")
    services.hold_capture(hold_id=hold.id)
    assert reconcile() == []
