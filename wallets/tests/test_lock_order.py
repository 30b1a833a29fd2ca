"""The lock order holds for foreign-key checks too (issue 16): the write path's foreign keys are
immediate, no FK check waits on a movement's wallet lock, a deadlock that still happens is run
again from the start, and the API under fan-out, fan-in, crossing pairs and holds answers every
request with a 2xx, with no retry allowed at all (`LEDGER_DEADLOCK_RETRIES=0` on the server)."""

from __future__ import annotations

import os
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection, connections, transaction
from prometheus_client import REGISTRY

from crowdpay.tests.fixtures import bearer
from crowdpay.tests.live_server import gunicorn_server
from sagas import services as sagas
from sagas.models import Saga
from wallets import ledger, plan
from wallets.executor import PostgresExecutor
from wallets.integrity import reconcile, verify_chains
from wallets.models import Balance, Hold
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL locking"
)

# The foreign keys the ledger's write path inserts rows under (migrations wallets.0005, sagas.0003).
WRITE_PATH_FOREIGN_KEYS = {
    ("wallets_event", "wallet_id"),
    ("wallets_balance", "wallet_id"),
    ("wallets_hold", "wallet_id"),
    ("wallets_posting", "wallet_id"),
    ("wallets_posting", "journal_id"),
    ("wallets_fxquote", "wallet_id"),
    ("wallets_fxquote", "journal_id"),
    ("wallets_eventseal", "wallet_id"),
    ("wallets_unsealedhead", "wallet_id"),
    ("sagas_saga", "wallet_id"),
    ("sagas_saga", "counterparty_wallet_id"),
    ("sagas_sagastep", "saga_id"),
    ("sagas_payout", "saga_id"),
}


@pytest.mark.django_db
def test_the_write_paths_foreign_keys_are_checked_by_their_insert_not_at_commit():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.condeferrable, c.condeferred FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE c.contype = 'f'"
        )
        found = {(table, column): (deferrable, deferred) for table, column, deferrable, deferred in cursor.fetchall()}
    assert set(found) >= WRITE_PATH_FOREIGN_KEYS
    assert {fk: found[fk] for fk in WRITE_PATH_FOREIGN_KEYS} == dict.fromkeys(WRITE_PATH_FOREIGN_KEYS, (False, False))


def _in_thread(work) -> dict:
    """Run `work` on its own connection, in a thread; return {"ok": result} or {"error": exc}."""
    outcome: dict = {}

    def run():
        try:
            outcome["ok"] = work()
        except Exception as exc:  # reported to the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return outcome


@pytest.mark.django_db(transaction=True)
def test_a_foreign_key_check_never_waits_on_a_movements_wallet_locks():
    """A saga row written with no wallet locked (a transfer waiting in review) checks both of its
    wallets; while a movement holds them, the check must neither wait (it would have held a KEY
    SHARE on one wallet and waited on the other: the deadlock of issue 16) nor be waited on."""
    source, target = funded(amount=100), WalletFactory()

    def review_saga() -> uuid.UUID:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            saga = Saga.objects.create(
                kind=Saga.Kind.TRANSFER,
                wallet_id=source.id,
                counterparty_wallet_id=target.id,
                amount=1,
                currency="USD",
                reference=f"review:{uuid.uuid4()}",
                state=Saga.State.IN_REVIEW,
            )
        return saga.id

    with transaction.atomic():
        PostgresExecutor().execute(plan.lock_plan(wallet_ids=[source.id, target.id]))
        outcome = _in_thread(review_saga)  # committed while both wallets are still locked here
    assert "ok" in outcome, outcome
    assert Saga.objects.filter(pk=outcome["ok"]).exists()

    # The same under a whole movement: `ledger_execute` locks the wallets FOR NO KEY UPDATE.
    with transaction.atomic():
        PostgresExecutor().execute(
            plan.transfer_plan(
                transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=1, currency="USD"
            )
        )
        outcome = _in_thread(review_saga)  # committed while the executor's locks are still held here
    assert "ok" in outcome, outcome
    assert Saga.objects.filter(pk=outcome["ok"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_deadlocks_victim_runs_again_from_the_start(settings):
    """The backstop: two transactions that lock two wallets in opposite orders (which no service
    does) deadlock; PostgreSQL rolls one back, `ledger.retrying` runs it again, both succeed,
    and the retry is counted."""
    settings.LEDGER_DEADLOCK_RETRIES = 3
    first, second = WalletFactory(), WalletFactory()
    both_locked_one = threading.Barrier(2, timeout=30)
    attempts: defaultdict[str, int] = defaultdict(int)
    before = REGISTRY.get_sample_value("ledger_transaction_retries_total", {"sqlstate": "40p01"}) or 0

    def opposite(name: str, order: list[uuid.UUID]):
        def write() -> str:
            attempts[name] += 1
            with transaction.atomic():
                PostgresExecutor().execute(plan.lock_plan(wallet_ids=[order[0]]))
                if attempts[name] == 1:
                    both_locked_one.wait()
                PostgresExecutor().execute(plan.lock_plan(wallet_ids=[order[1]]))
            return name

        return lambda: ledger.retrying(write)

    results: list[dict] = []
    threads = [
        threading.Thread(target=lambda w=w: results.append(_in_thread(w)))
        for w in (opposite("a", [first.id, second.id]), opposite("b", [second.id, first.id]))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(r.get("ok") for r in results) == ["a", "b"], results
    assert sorted(attempts.values()) == [1, 2]  # the victim ran once more, from the start
    assert REGISTRY.get_sample_value("ledger_transaction_retries_total", {"sqlstate": "40p01"}) == before + 1


@pytest.mark.django_db(transaction=True)
def test_no_retry_when_retries_are_off_or_inside_a_callers_transaction(settings):
    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = []

    def write():
        calls.append(1)
        raise OperationalError("deadlock detected") from Deadlock()

    settings.LEDGER_DEADLOCK_RETRIES = 0
    with pytest.raises(OperationalError):
        ledger.retrying(write)
    assert len(calls) == 1

    settings.LEDGER_DEADLOCK_RETRIES = 3
    calls.clear()
    with pytest.raises(OperationalError), transaction.atomic():  # the caller's transaction: not ours to rerun
        ledger.retrying(write)
    assert len(calls) == 1

    calls.clear()
    with pytest.raises(OperationalError):
        ledger.retrying(write)
    assert len(calls) == 4  # once, then three more times


# --- the API under load, on a real server -------------------------------------------------------


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """gunicorn (gthread) on the test database, with no deadlock retry: a deadlock would be a 503.
    Risk declines are off (a decline is a 4xx on its merits, not what these tests are about);
    reviews stay on, since a saga in review writes its row with no wallet locked: with a review
    score of 60 a young wallet's usual amount, even in rapid succession (15 + 25), is approved and
    an amount five times its usual (+35) is reviewed (`_history`, `_amount`)."""
    try:
        with gunicorn_server(
            tmp_path_factory.mktemp("gunicorn"),
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="20",
            DB_CONN_MAX_AGE="0",
            LEDGER_DEADLOCK_RETRIES="0",
            RISK_REVIEW_SCORE="60",
            RISK_DECLINE_SCORE="101",
            RISK_FREEZE_SCORE="101",
        ) as base:
            yield base
    finally:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the sagas' messages no worker took


def _burst(server: str, requests: list[tuple[uuid.UUID, str, dict]], during=None) -> list[httpx.Response]:
    """Send every (caller, path, body) POST at once, each on its own client (so its own server
    thread and database connection), with `during()` running alongside; return the responses."""
    start = threading.Barrier(len(requests) + (1 if during else 0), timeout=60)

    def send(caller: uuid.UUID, path: str, body: dict) -> httpx.Response:
        headers = {"Authorization": bearer(caller), "Idempotency-Key": str(uuid.uuid4())}
        with httpx.Client(base_url=server, timeout=120) as client:
            start.wait()
            return client.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests) + 1) as pool:
        futures = [pool.submit(send, *request) for request in requests]
        if during:
            start.wait()
            during()
        return [future.result() for future in futures]


def _transfer(source, target, amount: int = 1_00, currency: str = "USD") -> tuple[uuid.UUID, str, dict]:
    body = {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": amount, "currency": currency}
    return source.owner_id, "/v1/transfer", {**body, "memo": ""}


def _history(pairs) -> None:
    """Three approved transfers of 1.00 from each source first: its usual amount (risk rules)."""
    for source, target in pairs:
        for _ in range(3):
            saga = sagas.transfer_start(
                from_wallet_id=source.id,
                to_wallet_id=target.id,
                amount=1_00,
                currency="USD",
                memo="",
                reference=f"history:{uuid.uuid4()}",
                requested_by="test",
            )
            assert saga.state == Saga.State.SUCCEEDED, saga.error_code


def _amount(i: int) -> int:
    """Every third request ten times the usual amount: reviewed, so its saga row is written, with
    no wallet locked, while the other requests' movements hold those wallets."""
    return 10_00 if i % 3 == 2 else 1_00


def _debit(wallet, amount: int = 1_00) -> tuple[uuid.UUID, str, dict]:
    body = {"amount": amount, "currency": "USD", "destination": "acct_test", "reference": "lock-order"}
    return wallet.owner_id, f"/v1/wallets/{wallet.id}/debit", body


def _assert_all_2xx(responses: list[httpx.Response]) -> None:
    failed = [(r.status_code, r.text[:300]) for r in responses if not 200 <= r.status_code < 300]
    assert failed == [], failed


def _assert_ledger_right(wallets, initial: dict[uuid.UUID, int]) -> None:
    """Each wallet's USD balance is its funding, plus the transfers it received, less those it
    sent, with its active holds held; no saga failed; every invariant and every chain holds."""
    assert not Saga.objects.filter(state=Saga.State.FAILED).exists(), list(
        Saga.objects.filter(state=Saga.State.FAILED).values_list("error_code", "error_detail")
    )
    posted, held = dict(initial), defaultdict(int)
    for source, target, amount in Saga.objects.filter(kind=Saga.Kind.TRANSFER, state=Saga.State.SUCCEEDED).values_list(
        "wallet_id", "counterparty_wallet_id", "amount"
    ):
        posted[source] -= amount
        posted[target] += amount
    for wallet_id, amount in Hold.objects.filter(status=Hold.Status.HELD).values_list("wallet_id", "amount"):
        held[wallet_id] += amount
    for wallet in wallets:
        balance = Balance.objects.get(wallet_id=wallet.id, currency="USD")
        assert (balance.posted, balance.held) == (posted[wallet.id], held[wallet.id]), wallet.id
    assert reconcile() == []
    assert verify_chains() == []
    call_command("reconcile")  # exits 1 on any break
    call_command("verify_events")


FUNDS = 1_000_00


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fan_out_one_wallet_to_three_answers_every_request(server):
    source = funded(amount=FUNDS)
    targets = [funded(amount=FUNDS) for _ in range(3)]
    _history([(source, targets[0])])
    responses = _burst(server, [_transfer(source, targets[i % 3], _amount(i // 3)) for i in range(30)])
    _assert_all_2xx(responses)
    _assert_ledger_right([source, *targets], {w.id: FUNDS for w in [source, *targets]})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fan_in_ten_wallets_to_one_answers_every_request(server):
    sources = [funded(amount=FUNDS) for _ in range(10)]
    target = funded(amount=FUNDS)
    _history([(source, target) for source in sources])
    responses = _burst(server, [_transfer(sources[i % 10], target, _amount(i // 10)) for i in range(30)])
    _assert_all_2xx(responses)
    _assert_ledger_right([*sources, target], {w.id: FUNDS for w in [*sources, target]})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_crossing_pairs_answer_every_request(server):
    """A→B while B→A (and C→D while D→C): each pair's wallets are locked in one order whichever
    way the money goes."""
    a, b, c, d = (funded(amount=FUNDS) for _ in range(4))
    pairs = [(a, b), (b, a), (c, d), (d, c)]
    _history(pairs)
    responses = _burst(server, [_transfer(*pairs[i % 4], _amount(i // 4)) for i in range(32)])
    _assert_all_2xx(responses)
    _assert_ledger_right([a, b, c, d], {w.id: FUNDS for w in [a, b, c, d]})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_holds_alongside_transfers_answer_every_request(server, settings):
    """Holds taken three ways at once, beside instant transfers among the same wallets: transfers
    into a EUR wallet (the hold is placed in the request, its saga row refers to a wallet it does
    not lock), withdrawals started through the API, and withdrawals that test threads drive to
    their hold (each its own connection, as a worker would)."""
    settings.RISK_DECLINE_SCORE = settings.RISK_FREEZE_SCORE = 101
    a, b, c = (funded(amount=FUNDS) for _ in range(3))
    euros = WalletFactory(base_currency="EUR")
    withdrawals = [
        sagas.withdraw_start(
            wallet_id=wallet.id,
            amount=2_00,
            currency="USD",
            destination="acct_test",
            reference=f"lock-order-withdraw:{uuid.uuid4()}",
            requested_by="test",
        ).id
        for wallet in (a, b, c) * 3
    ]
    requests = (
        [_transfer(a, b), _transfer(b, a), _transfer(c, a), _transfer(b, c)] * 4
        + [_transfer(a, euros), _transfer(b, euros), _transfer(c, euros)] * 3
        + [_debit(a), _debit(b), _debit(c)] * 2
    )

    def advance_withdrawals():
        with ThreadPoolExecutor(max_workers=len(withdrawals)) as pool:
            advanced = list(
                pool.map(lambda saga_id: _in_thread(lambda: sagas.saga_advance(saga_id=saga_id)), withdrawals)
            )
        assert all("ok" in outcome for outcome in advanced), advanced

    responses = _burst(server, requests, during=advance_withdrawals)
    _assert_all_2xx(responses)
    held = Saga.objects.filter(pk__in=withdrawals, hold_id__isnull=False).count()
    assert held > 0  # the driven withdrawals placed their holds during the burst
    assert Hold.objects.filter(purpose=Hold.Purpose.TRANSFER, status=Hold.Status.HELD).exists()
    _assert_ledger_right([a, b, c], {w.id: FUNDS for w in [a, b, c]})
