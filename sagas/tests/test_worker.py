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
from django.db import connection
from django.utils import timezone

from sagas import services
from sagas.models import FxRate, Payout, Saga
from sagas.tests.conftest import LocalService
from wallets.integrity import reconcile
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture(scope="module", autouse=True)
def truncatable_events(django_db_setup, django_db_blocker):
    """Transactional tests end with a TRUNCATE of every table; the event table refuses TRUNCATE on
    PostgreSQL (append-only). Allow it for this module only, and restore the guard afterwards."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_event DISABLE TRIGGER wallets_event_no_truncate")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_event ENABLE TRIGGER wallets_event_no_truncate")


class Worker:
    """`celery -A crowdpay worker` in its own process, on the pytest test database."""

    def __init__(self, log: Path, **env: str) -> None:
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
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "crowdpay", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--hostname", f"sagas-test-{time.monotonic_ns()}@%h"],
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

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path / "worker.log", **env).start()
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
        wallet_id=wallet.id, amount=500_00, currency="USD", source="CARD", source_reference="ch_1",
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
            wallet_id=target.id, amount=5_00, currency="USD", source="CARD", source_reference="ch",
            reference="race-f", requested_by="u",
        ).id,
    )  # fmt: skip
    assert len(set(transfers)) == 1 and len(set(fundings)) == 1, (transfers, fundings)
    assert Saga.objects.count() == 2
    assert balance_of(source) == (990_00, 0)
    assert reconcile() == []
