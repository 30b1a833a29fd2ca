"""Read replicas (crowdpay/db_router.py): which database a read goes to, read-your-writes through
the `CrowdPay-Read-After` header, and a replica that lags or dies never showing to the user.

The slow tests run gunicorn with `REPLICA_DATABASE_URLS` pointing at a real streaming replica of the
local PostgreSQL (crowdpay/tests/replica.py) and read the replica's statement log to see which
statements reached it, from which connection (`application_name` crowdpay-replica_0)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from django.db import connection, transaction

from crowdpay import db_router
from crowdpay.db_router import HEADER, PrimaryReplicaRouter, RequestRoute, format_lsn, parse_lsn
from crowdpay.tests.fixtures import bearer
from crowdpay.tests.live_server import gunicorn_server
from crowdpay.tests.replica import streaming_replica  # noqa: F401 - the session fixture
from wallets.executor import PostgresExecutor
from wallets.models import Wallet

APP = "[crowdpay-replica_0]"


# --- the router, in process ------------------------------------------------------------------------


def test_lsn_text_and_position_round_trip():
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("0/3F745FC8")) == "0/3F745FC8"
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")
    for bad in ("", "16", "x/1", "1/2/3", "123456789/0"):
        with pytest.raises(ValueError):
            parse_lsn(bad)


@pytest.fixture
def replica_chosen(monkeypatch):
    """A request route whose replica choice answers `replica_0` without asking any server."""
    monkeypatch.setattr(db_router, "choose_replica", lambda min_lsn: "replica_0")
    route = RequestRoute(replica_readable=True)
    token = db_router._route.set(route)
    yield route
    db_router._route.reset(token)


@pytest.mark.django_db(transaction=True)
def test_a_replica_readable_request_reads_the_ledger_from_the_replica(replica_chosen):
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Wallet) == "replica_0"
    from django.contrib.auth.models import User

    from crowdpay.models import IdempotencyKey

    # sessions, users, idempotency keys: always the primary
    assert router.db_for_read(User) == "default"
    assert router.db_for_read(IdempotencyKey) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary(replica_chosen):
    router = PrimaryReplicaRouter()
    with transaction.atomic():
        assert router.db_for_read(Wallet) == "default"
    assert router.db_for_read(Wallet) == "replica_0"


@pytest.mark.django_db(transaction=True)
def test_after_a_write_or_a_lock_every_read_of_the_request_goes_to_the_primary(replica_chosen):
    router = PrimaryReplicaRouter()
    assert router.db_for_write(Wallet) == "default"
    assert router.db_for_read(Wallet) == "default"

    for statement in (
        "SELECT 1 FROM wallets_wallet FOR UPDATE",
        "INSERT INTO t VALUES (1)",
        " update t set a=1",
        PostgresExecutor.SQL,  # a movement: one call that writes, in autocommit
        "SELECT pg_advisory_xact_lock_shared(1, 2)",
    ):
        route = RequestRoute(replica_readable=True)
        route.watch_primary(lambda *a: None, statement, None, False, {})
        assert route.wrote, statement
    route = RequestRoute(replica_readable=True)
    route.watch_primary(lambda *a: None, 'SELECT "wallets_wallet"."id" FROM "wallets_wallet"', None, False, {})
    assert not route.wrote


def test_without_a_request_route_everything_reads_the_primary():
    assert PrimaryReplicaRouter().db_for_read(Wallet) == "default"
    assert PrimaryReplicaRouter().allow_migrate("replica_0", "wallets") is False
    assert PrimaryReplicaRouter().allow_migrate("default", "wallets") is True


@pytest.mark.django_db
def test_a_malformed_read_after_header_is_a_400_problem(api):
    response = api.get(f"/v1/wallets/{uuid.uuid4()}", HTTP_CROWDPAY_READ_AFTER="not-an-lsn")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_read_after"


# --- on a real streaming replica ------------------------------------------------------------------


@pytest.fixture(scope="module")
def replica_server(streaming_replica, tmp_path_factory):  # noqa: F811
    """gunicorn reading from the replica; one process (so /metrics shows its counters), risk
    reviews off (every transfer here succeeds in its request)."""
    name = connection.settings_dict["NAME"]
    with gunicorn_server(
        tmp_path_factory.mktemp("replica-server"),
        REPLICA_DATABASE_URLS=streaming_replica.url(name),
        REPLICA_MAX_LAG_SECONDS="3",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="8",
        RISK_REVIEW_SCORE="101",
        RISK_DECLINE_SCORE="101",
        RISK_FREEZE_SCORE="101",
        API_WRITE_THROTTLE_RATE="100000/minute",
    ) as base:
        yield base, streaming_replica


def _headers(owner: uuid.UUID, lsn: str | None = None, *, write: bool = False) -> dict[str, str]:
    headers = {"Authorization": bearer(owner)}
    if lsn:
        headers[HEADER] = lsn
    if write:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers


def _skipped(base: str, reason: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    match = re.search(rf'^db_replica_skipped_total{{reason="{reason}"}} ([0-9.e+]+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _app_statements(lines: list[str]) -> list[str]:
    return [line for line in lines if APP in line and "statement:" in line]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_writes_and_locks_to_the_primary(replica_server):
    base, replica = replica_server
    owner = uuid.uuid4()
    with httpx.Client(base_url=base, timeout=30) as client:
        opened = client.post(
            "/v1/wallets", json={"kind": "USER", "base_currency": "USD"}, headers=_headers(owner, write=True)
        )
        assert opened.status_code == 201, opened.text
        wallet_id, lsn = opened.json()["id"], opened.headers[HEADER]
        parse_lsn(lsn)
        replica.wait_caught_up()

        mark = len(replica.log_lines())
        for path in (f"/v1/wallets/{wallet_id}", f"/v1/wallets/{wallet_id}/events", "/v1/wallets"):
            response = client.get(path, headers=_headers(owner, lsn))
            assert response.status_code == 200, response.text
            assert HEADER not in response.headers  # a read wrote nothing
        # a transfer locks both wallets and writes: none of it reaches the replica
        other = client.post(
            "/v1/wallets", json={"kind": "USER", "base_currency": "USD"}, headers=_headers(owner, write=True)
        )
        assert other.status_code == 201
        statements = _app_statements(replica.log_lines()[mark:])
        assert any('FROM "wallets_wallet"' in line for line in statements), statements[-5:]
        assert any('FROM "wallets_event"' in line for line in statements), statements[-5:]
        writes = [s for s in statements if re.search(r"statement: (INSERT|UPDATE|DELETE)|FOR (NO KEY )?UPDATE", s)]
        assert writes == []

        # With the replica's replay paused, a read without the header is served by the replica,
        # which has not seen the new wallet: proof that reads really go there. With the header
        # the same read waits for nothing and goes to the primary.
        replica.pause_replay()
        try:
            fresh = client.post(
                "/v1/wallets", json={"kind": "USER", "base_currency": "USD"}, headers=_headers(owner, write=True)
            )
            assert fresh.status_code == 201
            fresh_id, fresh_lsn = fresh.json()["id"], fresh.headers[HEADER]
            assert client.get(f"/v1/wallets/{fresh_id}", headers=_headers(owner)).status_code == 404
            assert client.get(f"/v1/wallets/{fresh_id}", headers=_headers(owner, fresh_lsn)).status_code == 200
            behind = _skipped(base, "behind")
            assert behind >= 1

            # past REPLICA_MAX_LAG_SECONDS (3 s) the replica is skipped for everyone
            lagged = _skipped(base, "lag")
            time.sleep(3.5)
            opened = client.post(
                "/v1/wallets", json={"kind": "USER", "base_currency": "USD"}, headers=_headers(owner, write=True)
            )
            assert opened.status_code == 201  # WAL the paused replica receives but does not replay
            assert client.get(f"/v1/wallets/{fresh_id}", headers=_headers(owner)).status_code == 200
            assert _skipped(base, "lag") > lagged
        finally:
            replica.resume_replay()
        replica.wait_caught_up()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_read_your_writes_under_load_while_the_replica_lags(replica_server):
    """A writer moves 1 cent at a time into B; readers, echoing the highest LSN the writer got back,
    read B while the replica's replay is paused and resumed every 0.3 s: no read ever shows fewer
    cents than the transfers that had answered before it was sent."""
    from wallets.tests.factories import funded

    base, replica = replica_server
    owner = uuid.uuid4()
    source, target = funded(amount=1000_00, owner_id=owner), funded(amount=5_00, owner_id=owner)
    replica.wait_caught_up()
    state: dict[str, Any] = {"done": 0, "lsn": None, "stop": False}
    lock = threading.Lock()
    failures: list[str] = []
    reads = {"n": 0}
    mark = len(replica.log_lines())

    def write() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(40):
                body = {
                    "from_wallet_id": str(source.id),
                    "to_wallet_id": str(target.id),
                    "amount": 1,
                    "currency": "USD",
                    "memo": "ryw",
                }
                response = client.post("/v1/transfer", json=body, headers=_headers(owner, write=True))
                if response.status_code != 200 or response.json()["status"] != "SUCCEEDED":
                    failures.append(f"transfer: {response.status_code} {response.text[:200]}")
                    continue
                with lock:
                    state["done"] += 1
                    lsn = response.headers[HEADER]
                    if state["lsn"] is None or parse_lsn(lsn) > parse_lsn(state["lsn"]):
                        state["lsn"] = lsn

    def read() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not state["stop"]:
                with lock:
                    done, lsn = state["done"], state["lsn"]
                response = client.get(f"/v1/wallets/{target.id}", headers=_headers(owner, lsn))
                if response.status_code != 200:
                    failures.append(f"read: {response.status_code} {response.text[:200]}")
                    continue
                posted = next(b["posted"] for b in response.json()["balances"] if b["currency"] == "USD")
                if posted < 5_00 + done:
                    failures.append(f"stale read: {posted} < {5_00 + done} at {lsn}")
                reads["n"] += 1

    def lag() -> None:
        while not state["stop"]:
            replica.pause_replay()
            time.sleep(0.3)
            replica.resume_replay()
            time.sleep(0.3)

    writer = threading.Thread(target=write)
    others = [threading.Thread(target=read) for _ in range(3)] + [threading.Thread(target=lag)]
    for thread in (writer, *others):
        thread.start()
    writer.join(timeout=300)
    state["stop"] = True
    for thread in others:
        thread.join(timeout=60)
    replica.resume_replay()

    assert failures == []
    assert state["done"] == 40 and reads["n"] >= 40
    served = [line for line in _app_statements(replica.log_lines()[mark:]) if 'FROM "wallets_wallet"' in line]
    assert served, "no read reached the replica: the test proved nothing"
    assert _skipped(base, "behind") >= 1  # and some had to wait for it (went to the primary)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_replica_stopped_mid_run_is_never_an_error_for_the_user(replica_server):
    from wallets.tests.factories import funded

    base, replica = replica_server
    owner = uuid.uuid4()
    wallet = funded(amount=12_34, owner_id=owner)
    replica.wait_caught_up()
    before = _skipped(base, "down") + _skipped(base, "failed")
    answers: list[int] = []
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                response = client.get(f"/v1/wallets/{wallet.id}", headers=_headers(owner))
                answers.append(response.status_code)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        time.sleep(1.5)
        replica.stop("immediate")
        time.sleep(3)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=60)
        replica.start()
        replica.wait_caught_up()
    assert answers and set(answers) == {200}, {code: answers.count(code) for code in set(answers)}
    assert _skipped(base, "down") + _skipped(base, "failed") > before
