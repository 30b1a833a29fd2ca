"""`ledger.movement()`: on PostgreSQL an instant transfer's COMMIT rides in the engine's write
message. These tests run outside any test transaction, so that path is the one taken, and check
that every way out of it, success or failure, leaves the connection with no transaction open and
the ledger untouched by a failure."""

import uuid

import pytest
from django.db import DataError, connection
from psycopg import pq

from bench import roundtrips
from wallets import ledger, services
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.integrity import reconcile
from wallets.models import Event, JournalEntry
from wallets.tests.factories import balance_of, funded

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the engine's own transaction is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


def idle() -> bool:
    return connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE


def transfer(source, destination, amount=1, **kwargs):
    return services.transfer_execute(
        transfer_id=kwargs.pop("transfer_id", None) or uuid.uuid4(),
        from_wallet_id=source.id,
        to_wallet_id=destination.id,
        amount=amount,
        currency="USD",
        **kwargs,
    )


def untouched(source, destination, journals: int, events: int) -> bool:
    return (
        JournalEntry.objects.count() == journals
        and Event.objects.count() == events
        and balance_of(source) == (100, 0)
        and balance_of(destination) == (1, 0)
    )


def test_an_instant_transfer_is_three_round_trips_and_commits():
    source, destination = funded(amount=100), funded(amount=1)
    counted = roundtrips.count(lambda: transfer(source, destination, amount=30))
    assert counted["round_trips"] == 3, counted["sql"]  # BEGIN; lock; write + COMMIT
    assert idle() and not connection.in_atomic_block
    connection.close()  # committed: another session sees it
    assert balance_of(source) == (70, 0) and balance_of(destination) == (31, 0)
    assert reconcile() == []


def test_a_refusal_under_the_lock_rolls_back_and_the_next_transfer_works():
    source, destination = funded(amount=100), funded(amount=1)
    journals, events = JournalEntry.objects.count(), Event.objects.count()
    with pytest.raises(LedgerError) as refused:
        transfer(source, destination, amount=101)
    assert refused.value.code == LedgerErrorCode.INSUFFICIENT_FUNDS
    assert idle() and untouched(source, destination, journals, events)
    transfer(source, destination, amount=100)
    assert balance_of(source) == (0, 0) and reconcile() == []


def test_a_replayed_reference_answers_the_first_entry_through_the_unique_constraint():
    source, destination = funded(amount=100), funded(amount=1)
    transfer_id = uuid.uuid4()
    first = transfer(source, destination, amount=10, transfer_id=transfer_id)
    assert transfer(source, destination, amount=10, transfer_id=transfer_id) == first
    assert idle() and balance_of(source) == (90, 0) and balance_of(destination) == (11, 0)


@pytest.mark.parametrize(
    ("statements", "error"),
    [
        (lambda journal_id: [("SELECT 1 / 0", [])], DataError),  # fails inside the write's message
        (lambda journal_id: 1 / 0, ZeroDivisionError),  # fails in Python between the two messages
    ],
)
def test_a_failure_anywhere_in_the_movement_rolls_everything_back(statements, error):
    source, destination = funded(amount=100), funded(amount=1)
    journals, events = JournalEntry.objects.count(), Event.objects.count()
    with pytest.raises(error):
        transfer(source, destination, amount=5, statements=statements)
    assert idle() and untouched(source, destination, journals, events)


def test_a_movement_that_never_writes_is_rolled_back_and_refused():
    source, destination = funded(amount=100), funded(amount=1)
    journals, events = JournalEntry.objects.count(), Event.objects.count()
    with pytest.raises(RuntimeError), ledger.movement():
        ledger.lock(wallet_ids=[source.id, destination.id], pairs=[(source.id, "USD")])
    assert idle() and untouched(source, destination, journals, events)


def test_inside_a_callers_transaction_it_is_an_ordinary_atomic_block():
    from django.db import transaction

    source, destination = funded(amount=100), funded(amount=1)
    with transaction.atomic():
        transfer(source, destination, amount=7)
        assert not idle()  # still the caller's transaction: nothing was committed behind its back
        transaction.set_rollback(True)
    assert balance_of(source) == (100, 0)
