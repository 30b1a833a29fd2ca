"""A live CrowdPay Connect service for the SDK's tests: gunicorn on a free local port and a real
Celery worker, both on the pytest test database and the test Redis. Tests that use them run with
`django_db(transaction=True)`, so what a test writes is committed and the server sees it.

The processes start once for this package and stop after its last test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from crowdpay.api.tokens import token_issue
from crowdpay.queues import QUEUES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ALL_SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def token(sub: uuid.UUID | str, scope: str = ALL_SCOPES, **claims) -> str:
    """A bearer token signed with the development key pair, which the live server also reads."""
    return token_issue(sub=sub, scope=scope, **claims)


def _tail(path: Path, size: int = 4000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


@dataclass
class LiveService:
    url: str
    port: int
    server: subprocess.Popen
    worker: subprocess.Popen
    server_log: Path
    worker_log: Path

    def logs(self) -> str:
        return f"--- server ---\n{_tail(self.server_log)}\n--- worker ---\n{_tail(self.worker_log)}"


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="package")
def live_backends(django_db_setup):
    """The live tests need the real PostgreSQL and Redis (a worker process shares them)."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("the SDK's live tests need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")


@pytest.fixture(scope="package")
def live_service(django_db_setup, live_backends, jwt_dev_keys, tmp_path_factory) -> Iterator[LiveService]:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # no message from an earlier run
    logs = tmp_path_factory.mktemp("live-service")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crowdpay.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DB_CONN_MAX_AGE": "0",  # no idle connection left to the test database between tests
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "8",
    }
    server_log, worker_log = logs / "server.log", logs / "worker.log"
    server = worker = None
    try:
        with open(server_log, "wb") as out:
            server = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "crowdpay/gunicorn.conf.py"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        with open(worker_log, "wb") as out:
            worker = subprocess.Popen(
                [str(BIN / "celery"), "-A", "crowdpay", "worker", "--pool=solo", "--loglevel=INFO",
                 "--without-gossip", "--without-mingle", "--hostname", f"sdk-tests-{os.getpid()}@%h"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        service = LiveService(f"http://127.0.0.1:{port}", port, server, worker, server_log, worker_log)
        _wait_until_ready(service)
        yield service
    finally:
        _stop(server)
        _stop(worker)


@pytest.fixture(autouse=True)
def quiet_before_flush(request, _django_db_helper):
    """Before pytest-django truncates the tables after a test, let the live server and worker finish
    what the test started: a TRUNCATE racing their reads can deadlock. Depends on the database
    fixture so that it is torn down first."""
    yield
    if "live_service" not in request.fixturenames:
        return
    queue = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + 20
    quiet = 0
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            busy = cursor.fetchone()[0]
        # A task the worker has taken but not finished is no longer in the queue's list: with
        # acks_late it waits in the transport's `unacked` hash until done. Between two of its
        # queries its connection shows idle, so quiet must hold twice in a row.
        waiting = sum(queue.llen(name) for name in QUEUES)  # every queue (crowdpay/queues.py)
        if not busy and not waiting and not queue.hlen("unacked"):
            quiet += 1
            if quiet >= 2:
                return
        else:
            quiet = 0
        time.sleep(0.1)


def _wait_until_ready(service: LiveService) -> None:
    from crowdpay.celery import app

    deadline = time.monotonic() + 90
    server_up = worker_up = False
    while time.monotonic() < deadline:
        for process in (service.server, service.worker):
            assert process.poll() is None, f"a live-service process exited early\n{service.logs()}"
        if not server_up:
            try:
                server_up = httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                pass
        if not worker_up:
            worker_up = bool(app.control.ping(timeout=0.5))
        if server_up and worker_up:
            return
        time.sleep(0.2)
    raise AssertionError(f"the live service did not start\n{service.logs()}")


@pytest.fixture
def service(live_service, transactional_db) -> LiveService:
    """The live service, for a test whose writes are committed (and flushed after it)."""
    return live_service
