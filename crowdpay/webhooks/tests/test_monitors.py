"""Balance monitors decided by the ledger's executor inside its one call (wallets.monitors): on
PostgreSQL by `ledger_balance_moved` in `ledger_execute`, on the ORM executor (SQLite) by its twin
`outbox.balances_moved`, both run here and held to the same messages. No crossing is missed (an
endpoint enabled a moment before counts), none is written for a movement that did not commit, a
dispatch is asked for after the commit, and the movement stays one round trip."""

from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest
from django.db import connection, transaction

from crowdpay.webhooks import outbox, services
from crowdpay.webhooks.models import Endpoint, Message
from wallets import executor, plan
from wallets import services as ledger
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.executor import OrmExecutor, PostgresExecutor
from wallets.models import Wallet
from wallets.tests.factories import balance_of, funded

ON_PG = os.environ.get("DATABASE_URL", "").startswith("postgres")

pytestmark = pytest.mark.django_db(transaction=True)

URL = "http://127.0.0.1:9/hooks"  # nothing is delivered here: dispatch is counted, not run
BELOW, ABOVE = "wallet.balance_below", "wallet.balance_above"


@pytest.fixture(
    params=[
        pytest.param(PostgresExecutor, id="postgres", marks=pytest.mark.skipif(not ON_PG, reason="PostgreSQL")),
        pytest.param(OrmExecutor, id="orm"),
    ]
)
def backend(request, monkeypatch):
    """Every movement of the test through this executor (the services ask `executor.executor()`)."""
    chosen = request.param()
    monkeypatch.setattr(executor, "executor", lambda: chosen)
    return chosen


@pytest.fixture
def dispatches(monkeypatch) -> list[bool]:
    """One entry per dispatch asked for, recording whether a transaction was still open then."""
    asked: list[bool] = []
    monkeypatch.setattr(outbox, "dispatch_soon", lambda: asked.append(connection.in_atomic_block))
    monkeypatch.setattr(services, "_send", lambda ids, countdown=None: None)
    return asked


def _transfer(source: Wallet, target: Wallet, amount: int) -> uuid.UUID:
    return ledger.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=amount, currency="USD"
    )


def _watched(owner: uuid.UUID, amount: int = 1000_00) -> Wallet:
    wallet = funded(amount=amount, owner_id=owner)
    services.monitor_create(wallet=wallet, currency="USD", direction="BELOW", threshold=500_00)
    services.monitor_create(wallet=wallet, currency="USD", direction="ABOVE", threshold=800_00)
    return wallet


def _messages() -> list[tuple[str, uuid.UUID, uuid.UUID | None, dict, datetime]]:
    return list(Message.objects.order_by("id").values_list("type", "owner_id", "wallet_id", "data", "created_at"))


def test_a_crossing_right_after_the_first_endpoint_is_enabled_is_written(backend, dispatches):
    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=1)
    assert not Endpoint.objects.exists()
    _transfer(wallet, other, 100_00)  # 900: no crossing, and nobody subscribes anywhere yet
    services.endpoint_create(owner_id=owner, url=URL, event_types=[BELOW])
    _transfer(wallet, other, 450_00)  # 450: crossed below, at once after the first endpoint
    ((type, to, about, data, _),) = _messages()
    assert (type, to, about) == (BELOW, owner, wallet.id)
    assert data["previous_available"] == 900_00 and data["available"] == 450_00
    assert dispatches == [False]  # asked for once, after the commit


def test_both_executors_write_the_same_messages(backend, dispatches):
    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=10_000_00)
    below, above = wallet.monitors.order_by("threshold")
    services.endpoint_create(owner_id=owner, url=URL, event_types=[BELOW, ABOVE])
    services.endpoint_create(owner_id=uuid.uuid4(), url=URL, event_types=[BELOW, ABOVE])  # not the owner's
    _transfer(wallet, other, 600_00)  # 400: below
    _transfer(wallet, other, 100_00)  # 300: already below, nothing
    _transfer(other, wallet, 600_00)  # 900: above (and back over 500, which `below` does not tell)
    movement = plan.transfer_plan(
        transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=500_00, currency="USD"
    )
    outcome = executor.executor().execute(movement)  # 400: below, once more
    assert outcome.messages == 1
    written = _messages()
    assert [(t, o, w) for t, o, w, _, _ in written] == [(t, owner, wallet.id) for t in (BELOW, ABOVE, BELOW)]
    assert written[0][3] == {
        "monitor_id": str(below.id),
        "wallet_id": str(wallet.id),
        "currency": "USD",
        "direction": "below",
        "threshold": 500_00,
        "previous_available": 1000_00,
        "available": 400_00,
    }
    assert written[1][3] == {
        "monitor_id": str(above.id),
        "wallet_id": str(wallet.id),
        "currency": "USD",
        "direction": "above",
        "threshold": 800_00,
        "previous_available": 300_00,
        "available": 900_00,
    }
    assert written[2][4] == movement.now  # the movement's own time
    assert dispatches == [False, False, False]


def test_only_an_enabled_endpoint_subscribed_to_the_type_gets_a_message(backend, dispatches):
    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=1)
    endpoint = services.endpoint_create(owner_id=owner, url=URL, event_types=[ABOVE, "operation.succeeded"])
    _transfer(wallet, other, 600_00)  # below, which nobody subscribes to
    services.endpoint_update(endpoint=endpoint, event_types=[BELOW])
    services.endpoint_disable(endpoint=endpoint)
    _transfer(other, wallet, 200_00)  # 600: back above 500
    _transfer(wallet, other, 200_00)  # 400: below again, the endpoint disabled
    assert _messages() == [] and dispatches == []
    services.endpoint_enable(endpoint=Endpoint.objects.get(pk=endpoint.pk))
    _transfer(other, wallet, 200_00)
    _transfer(wallet, other, 200_00)  # below, enabled now
    assert [m[0] for m in _messages()] == [BELOW]


def test_a_refused_or_rolled_back_movement_writes_no_message(backend, dispatches):
    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=1)
    services.endpoint_create(owner_id=owner, url=URL, event_types=[BELOW])
    limited = plan.transfer_plan(
        transfer_id=uuid.uuid4(),
        from_wallet_id=wallet.id,
        to_wallet_id=other.id,
        amount=600_00,
        currency="USD",
        outflow=plan.Outflow(base_amount=600_00, limit=100_00),
    )
    with pytest.raises(LedgerError) as refused:
        executor.executor().execute(limited)  # it would cross: refused under the lock instead
    assert refused.value.code == LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED
    with pytest.raises(RuntimeError), transaction.atomic():
        _transfer(wallet, other, 600_00)  # crossed, written, then the caller's transaction rolls back
        assert len(_messages()) == 1 and dispatches == []
        raise RuntimeError("the caller fails")
    assert balance_of(wallet) == (1000_00, 0)
    assert _messages() == [] and dispatches == []


def test_inside_a_callers_transaction_the_dispatch_waits_for_its_commit(backend, dispatches):
    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=1)
    services.endpoint_create(owner_id=owner, url=URL, event_types=[BELOW])
    with transaction.atomic():
        _transfer(wallet, other, 600_00)
        assert dispatches == []
    assert dispatches == [False] and len(_messages()) == 1


def test_a_transfer_that_crosses_a_monitor_is_one_round_trip_with_its_message(dispatches):
    if not ON_PG:
        pytest.skip("PostgreSQL")
    from bench.roundtrips import count

    owner = uuid.uuid4()
    wallet, other = _watched(owner), funded(amount=1)
    services.endpoint_create(owner_id=owner, url=URL, event_types=[BELOW, ABOVE])
    measured = count(lambda: _transfer(wallet, other, 600_00))
    assert measured["round_trips"] == 1, measured["sql"]
    assert [m[0] for m in _messages()] == [BELOW] and dispatches == [False]
