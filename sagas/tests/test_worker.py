"""End to end through a real Celery worker process on the real Redis, and a crash in the middle of
a saga: kill -9 the worker between two steps, restart it, sweep, and the ledger still reconciles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from sagas import queue, services
from sagas.models import FxRate, Payout, Saga, SagaStep
from sagas.tests.conftest import LocalService
from wallets.integrity import reconcile
from wallets.models import Event
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


class Worker:
    """`celery -A crowdpay worker` in its own process, on the pytest test database."""

    def __init__(self, log: Path, *, beat: bool = False, **env: str) -> None:
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crowdpay.settings.test",
            "DATABASE_URL": url,
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "DB_CONN_MAX_AGE": "0",
            **env,
        }
        self.log = log
        # with the beat (the sweeper every SAGA_SWEEP_SECONDS), its schedule beside the log
        self.beat = ["--beat", "-s", str(log.with_name(f"beat-{time.monotonic_ns()}"))] if beat else []
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "crowdpay", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--hostname", f"sagas-test-{time.monotonic_ns()}@%h", *self.beat],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        from crowdpay.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            if app.control.ping(timeout=0.5):
                return self
        raise AssertionError(f"the worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def broker():
    """A clean broker database: no message left from an earlier run reaches these tests."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def start_worker(broker, tmp_path):
    workers: list[Worker] = []

    def start(*, beat: bool = False, **env: str) -> Worker:
        worker = Worker(tmp_path / "worker.log", beat=beat, **env).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(saga_id, *, states=Saga.TERMINAL, timeout: float = 60) -> Saga:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        saga = Saga.objects.get(pk=saga_id)
        if saga.state in states:
            return saga
        time.sleep(0.2)
    raise AssertionError(f"saga {saga_id} is still {Saga.objects.get(pk=saga_id).state}")


def test_funding_withdraw_and_fx_transfer_run_on_a_real_worker(start_worker):
    start_worker()
    wallet = WalletFactory()
    funding = services.funding_start(
        wallet_id=wallet.id, amount=500_00, currency="USD", source="CARD", source_reference="ch_test_ok_1",
        reference="e2e-fund", requested_by="user:1",
    )  # fmt: skip
    assert wait_for(funding.id).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (500_00, 0)

    withdraw = services.withdraw_start(
        wallet_id=wallet.id, amount=200_00, currency="USD", destination="iban:X", reference="e2e-wd",
        requested_by="user:1",
    )  # fmt: skip
    assert wait_for(withdraw.id, states=[Saga.State.PAYOUT_REQUESTED]).hold_id is not None
    services.payout_mark(payout_id=Payout.objects.get(saga_id=withdraw.id).id, paid=True, actor="finance:1")
    assert wait_for(withdraw.id).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (300_00, 0)

    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.9"))
    eur = WalletFactory(base_currency="EUR")
    transfer = services.transfer_start(
        from_wallet_id=wallet.id, to_wallet_id=eur.id, amount=100_00, currency="USD", memo="", reference="e2e-tr",
        requested_by="user:1",
    )  # fmt: skip
    assert transfer.state == Saga.State.FUNDS_HELD
    assert wait_for(transfer.id).state == Saga.State.SUCCEEDED
    assert balance_of(eur, "EUR") == (90_00, 0)
    assert reconcile() == []


def test_a_worker_killed_between_two_steps_loses_nothing(start_worker):
    source = funded(amount=1000_00)
    target = WalletFactory(base_currency="EUR")
    arrived, release = threading.Event(), threading.Event()

    def slow_quote(request):
        arrived.set()
        release.wait(timeout=30)
        return 200, {"rate": "0.8", "quote_id": "q-crash", "source": "fx-test"}

    with LocalService() as fx:
        fx.routes[("GET", "/quotes")] = slow_quote
        env = {"FX_SERVICE_ENDPOINT": fx.url, "GATEWAY_TIMEOUT_SECONDS": "30"}
        worker = start_worker(**env)
        saga = services.transfer_start(
            from_wallet_id=source.id, to_wallet_id=target.id, amount=100_00, currency="USD", memo="crash",
            reference="crash-1", requested_by="user:1",
        )  # fmt: skip
        assert arrived.wait(timeout=30), "the worker never asked for the quote"
        worker.kill()  # kill -9 with the hold placed and the quote not yet recorded
        release.set()

        stuck = Saga.objects.get(pk=saga.id)
        assert stuck.state == Saga.State.FUNDS_HELD
        assert balance_of(source) == (1000_00, 100_00)
        assert reconcile() == []

        fx.routes[("GET", "/quotes")] = lambda r: (200, {"rate": "0.8", "quote_id": "q-2", "source": "fx-test"})
        start_worker(**env)
        assert services.sagas_resume_due() == 0  # its lease has not run out yet
        assert services.sagas_resume_due(now=timezone.now() + timedelta(seconds=settings.SAGA_LEASE_SECONDS + 1)) == 1
        done = wait_for(saga.id)

    assert done.state == Saga.State.SUCCEEDED
    assert balance_of(source) == (900_00, 0)
    assert balance_of(target, "EUR") == (80_00, 0)
    assert reconcile() == []


RECOVERY_SECONDS = 60  # the contract: a dead worker's saga resumes within a minute of a live worker


def debits_of(saga) -> int:
    return Event.objects.filter(type="WalletDebited", data__saga_id=str(saga.id)).count()


def held_by_a_worker(saga) -> bool:
    """The saga's queued mark names the worker that received its message."""
    mark = cache.get(queue.queued_key(saga.id))
    return isinstance(mark, tuple) and bool(mark[1])


def test_a_saga_whose_worker_is_killed_mid_step_succeeds_within_a_minute(start_worker, tmp_path):
    """kill -9 while the payout request hangs at the settlement service; a live worker (with the beat,
    default lease and sweep) finishes the saga within a minute, and the debit happens once."""
    wallet = funded(amount=1000_00)
    arrived, release = threading.Event(), threading.Event()

    def payout(request):
        if not arrived.is_set():
            arrived.set()
            release.wait(timeout=120)  # the first request hangs until its worker is dead
        return 200, {"status": "PAID"}

    with LocalService() as settlement:
        settlement.routes[("POST", "/payouts")] = payout
        settlement.routes[("GET", "/payouts/")] = lambda r: (200, {"status": "PAID"})
        env = {"SETTLEMENT_SERVICE_ENDPOINT": settlement.url, "GATEWAY_TIMEOUT_SECONDS": "120"}
        doomed = start_worker(**env)
        saga = services.withdraw_start(
            wallet_id=wallet.id, amount=200_00, currency="USD", destination="iban:KILL", reference="kill-mid-step",
            requested_by="user:1",
        )  # fmt: skip
        assert arrived.wait(timeout=60), "the worker never asked for the payout"
        start_worker(beat=True, **env)  # the live worker, there before the kill
        killed = time.monotonic()
        doomed.kill()
        release.set()
        done = wait_for(saga.id, timeout=RECOVERY_SECONDS)
        recovered = time.monotonic() - killed

    print(f"recovery after worker kill mid-step: {recovered:.1f} s")
    assert done.state == Saga.State.SUCCEEDED, (done.state, done.error_code)
    assert recovered < RECOVERY_SECONDS
    assert balance_of(wallet) == (800_00, 0)
    assert debits_of(saga) == 1
    posts = [r for r in settlement.requests if r["method"] == "POST"]
    assert {r["headers"].get("Idempotency-Key") for r in posts} == {str(saga.id)}  # one payout, asked again
    assert reconcile() == []


def test_a_retry_waiting_in_a_killed_worker_is_sent_again_within_a_minute(start_worker):
    """kill -9 while the worker holds the saga's retry (its countdown not yet run out): the mark
    names the dead worker, so the sweeper does not wait for the broker to give the message back."""
    source, target = funded(amount=1000_00), WalletFactory(base_currency="EUR")
    calls: list[int] = []

    def quote(request):
        calls.append(1)
        if len(calls) == 1:
            return 503, {"code": "busy"}
        return 200, {"rate": "0.5", "quote_id": f"q-{len(calls)}", "source": "fx-test"}

    with LocalService() as fx:
        fx.routes[("GET", "/quotes")] = quote
        env = {"FX_SERVICE_ENDPOINT": fx.url, "SAGA_RETRY_BASE_SECONDS": "20"}  # a retry in 10-20 s
        doomed = start_worker(**env)
        saga = services.transfer_start(
            from_wallet_id=source.id, to_wallet_id=target.id, amount=100_00, currency="USD", memo="retry",
            reference="kill-retry", requested_by="user:1",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not (held_by_a_worker(saga) and SagaStep.objects.filter(saga=saga, result="retry").exists()):
            assert time.monotonic() < deadline, "the worker never took the saga's retry"
            time.sleep(0.2)
        start_worker(beat=True, **env)
        killed = time.monotonic()
        doomed.kill()
        done = wait_for(saga.id, timeout=RECOVERY_SECONDS)
        recovered = time.monotonic() - killed

    print(f"recovery after worker kill holding a retry: {recovered:.1f} s")
    assert done.state == Saga.State.SUCCEEDED, (done.state, done.error_code)
    assert balance_of(source) == (900_00, 0)
    assert balance_of(target, "EUR") == (50_00, 0)
    assert Event.objects.filter(type="TransferCompleted", data__transfer_id=str(saga.id)).count() == 1
    assert reconcile() == []


def test_a_step_longer_than_the_lease_is_not_resumed_twice(start_worker, settings):
    """The running step's lease is renewed while it runs: a sweeper every second with a 3 s lease
    does not send the saga to a second worker while its payout request takes 10 s."""
    wallet = funded(amount=1000_00)
    settings.SAGA_LEASE_SECONDS = 3
    arrived, release = threading.Event(), threading.Event()

    def payout(request):
        arrived.set()
        release.wait(timeout=60)
        return 200, {"status": "PAID"}

    with LocalService() as settlement:
        settlement.routes[("POST", "/payouts")] = payout
        settlement.routes[("GET", "/payouts/")] = lambda r: (200, {"status": "PAID"})
        env = {"SETTLEMENT_SERVICE_ENDPOINT": settlement.url, "GATEWAY_TIMEOUT_SECONDS": "60",
               "SAGA_LEASE_SECONDS": "3", "SAGA_SWEEP_SECONDS": "1"}  # fmt: skip
        start_worker(beat=True, **env)
        start_worker(**env)  # a second, idle worker a resend would reach
        saga = services.withdraw_start(
            wallet_id=wallet.id, amount=100_00, currency="USD", destination="iban:LONG", reference="long-step",
            requested_by="user:1",
        )  # fmt: skip
        assert arrived.wait(timeout=60)
        time.sleep(10)
        posts = sum(1 for r in settlement.requests if r["method"] == "POST")
        release.set()
        done = wait_for(saga.id)

    assert posts == 1  # nobody else ran the step while it ran
    assert done.state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (900_00, 0)
    assert debits_of(saga) == 1
    assert reconcile() == []


def _race(count: int, call) -> list:
    """Run `call` on `count` threads at once, each on its own database connection."""
    barrier = threading.Barrier(count)
    results: list = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(call())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_starts_with_one_reference_have_one_effect(broker):
    source, target = funded(amount=1000_00), WalletFactory()
    transfers = _race(
        4,
        lambda: services.transfer_start(
            from_wallet_id=source.id, to_wallet_id=target.id, amount=10_00, currency="USD", memo="",
            reference="race-t", requested_by="u",
        ).id,
    )  # fmt: skip
    fundings = _race(
        4,
        lambda: services.funding_start(
            wallet_id=target.id, amount=5_00, currency="USD", source="CARD", source_reference="ch_test_ok_race",
            reference="race-f", requested_by="u",
        ).id,
    )  # fmt: skip
    assert len(set(transfers)) == 1 and len(set(fundings)) == 1, (transfers, fundings)
    assert Saga.objects.count() == 2
    assert balance_of(source) == (990_00, 0)
    assert reconcile() == []
