"""The production server (gunicorn, gthread, crowdpay/gunicorn.conf.py) started for real on a free
port: long-polls do not starve other requests, and parallel requests with one Idempotency-Key
have exactly one effect (separate server threads, separate database connections)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait

import httpx
import pytest
from django.db import connection

from crowdpay.tests.fixtures import bearer
from crowdpay.tests.live_server import gunicorn_server
from sagas.models import Saga
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    with gunicorn_server(tmp_path_factory.mktemp("gunicorn")) as base:
        yield base


def _headers(sub, key=None) -> dict:
    headers = {"Authorization": bearer(sub)}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _idle_in_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_twenty_long_polls_do_not_starve_other_requests(server):
    owner = uuid.uuid4()
    wallet = WalletFactory(owner_id=owner)
    with httpx.Client(base_url=server, timeout=60) as client:
        credit = client.post(
            f"/v1/wallets/{wallet.id}/credit",
            json={"amount": 100, "currency": "USD", "reference": "ch_test_ok_poll"},
            headers=_headers(owner, "poll-1"),
        )
    assert credit.status_code == 202, credit.text
    operation_id = credit.json()["id"]  # no worker runs here: it stays PENDING for the whole wait

    def long_poll():
        with httpx.Client(base_url=server, timeout=60) as c:
            return c.get(f"/v1/operations/{operation_id}", params={"wait": 8}, headers=_headers(owner))

    with ThreadPoolExecutor(max_workers=20) as pool:
        polls = [pool.submit(long_poll) for _ in range(20)]
        time.sleep(1.0)  # let every long-poll reach the server and start waiting
        answered = []
        idle_in_transaction = []
        with httpx.Client(base_url=server, timeout=60) as other:
            for _ in range(5):
                answered.append(other.get("/v1/wallets", headers=_headers(owner)).status_code)
                answered.append(other.get(f"/v1/wallets/{wallet.id}", headers=_headers(owner)).status_code)
                answered.append(other.get("/healthz").status_code)
                idle_in_transaction.append(_idle_in_transaction())
        # Other requests were served while all twenty long-polls were still waiting.
        still_waiting = sum(not f.done() for f in polls)
        wait(polls)
    assert answered == [200] * 15
    assert still_waiting == 20
    assert idle_in_transaction == [0] * 5  # waiting holds no transaction open
    results = [f.result() for f in polls]
    assert [r.status_code for r in results] == [200] * 20
    assert {r.json()["status"] for r in results} == {"PENDING"}


def _parallel(requests: int, send) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=requests) as pool:
        return [f.result() for f in [pool.submit(send) for _ in range(requests)]]


def test_parallel_requests_with_one_key_open_exactly_one_wallet(server):
    owner = uuid.uuid4()

    def send():
        with httpx.Client(base_url=server, timeout=60) as c:
            return c.post("/v1/wallets", json={"base_currency": "USD"}, headers=_headers(owner, "same-key"))

    responses = _parallel(8, send)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses, [r.text for r in responses]
    assert Wallet.objects.filter(owner_id=owner).count() == 1
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert created == {str(Wallet.objects.get(owner_id=owner).id)}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "idempotency_key_in_progress"
    # once the first is done, a retry replays it
    with httpx.Client(base_url=server, timeout=60) as c:
        again = c.post("/v1/wallets", json={"base_currency": "USD"}, headers=_headers(owner, "same-key"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


def test_parallel_credits_with_one_key_start_exactly_one_saga(server):
    owner = uuid.uuid4()
    wallet = WalletFactory(owner_id=owner)

    def send():
        with httpx.Client(base_url=server, timeout=60) as c:
            return c.post(
                f"/v1/wallets/{wallet.id}/credit",
                json={"amount": 5_00, "currency": "USD", "reference": "ch_test_ok_par"},
                headers=_headers(owner, "credit-key"),
            )

    responses = _parallel(8, send)
    assert {r.status_code for r in responses} <= {202, 409}, [r.text for r in responses]
    assert Saga.objects.filter(wallet_id=wallet.id).count() == 1
    assert {r.json()["id"] for r in responses if r.status_code == 202} == {
        str(Saga.objects.get(wallet_id=wallet.id).id)
    }
