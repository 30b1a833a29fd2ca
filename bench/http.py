"""Parts 4 and 6: through the production server (gunicorn with crowdpay/gunicorn.conf.py, production
settings) and, for the funding saga, a real Celery worker on Redis.

4. `POST /v1/transfer` with a bearer token and an `Idempotency-Key` from concurrent clients, then
   `GET /v1/wallets/{id}`: requests/s, p50, p99.
6. `POST /v1/wallets/{id}/credit`, then long-poll `GET /v1/operations/{id}?wait=30` until the
   worker has run the FundingSaga to SUCCEEDED: operations/s and POST-to-SUCCEEDED latency.

The server runs `crowdpay.settings.local_stack` (production's settings on the sandbox providers)
with bench-only secrets; the per-caller write
throttle is raised (API_WRITE_THROTTLE_RATE) so that it measures the service, not the throttle.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json as _json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .config import BENCH_WALLET_LIMIT, ROOT
from .stats import ratio, summary

GUNICORN = Path(sys.executable).with_name("gunicorn")
CELERY = Path(sys.executable).with_name("celery")
SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_settings(database_url: str, redis_url: str) -> dict[str, str]:
    """What part 4's server runs with, but its keys (`server_env`; bench/http_probe.py too)."""
    return {
        # The deployed settings on the sandbox providers: credits use the payment sandbox's test tokens.
        "DJANGO_SETTINGS_MODULE": "crowdpay.settings.local_stack",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PII_ENCRYPTION_KEYS": os.environ.get("PII_ENCRYPTION_KEYS")
        or "bench1:" + base64.b64encode(b"b" * 32).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "False",
        "API_WRITE_THROTTLE_RATE": "1000000/minute",
        # Screening still runs on every request, but its review and decline thresholds are out of
        # reach: a bench's young wallets paying each other many times a minute are exactly what the
        # risk rules send to review, and a review queue is not what this part measures.
        "RISK_REVIEW_SCORE": "101",
        "RISK_DECLINE_SCORE": "101",
        "RISK_FREEZE_SCORE": "101",
        "WALLET_DEFAULT_LIMIT": str(BENCH_WALLET_LIMIT),  # checked, out of reach (bench/__main__.py)
        "LOG_LEVEL": "WARNING",
    }


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    from django.conf import settings

    from crowdpay.keys import public_key

    return {
        **os.environ,
        **server_settings(database_url, redis_url),
        "SECRET_KEY": settings.SECRET_KEY + "-bench-server",
        "JWT_PUBLIC_KEY": public_key(),
        # The same key ring as the bench process, so every chain verifies afterwards.
        "EVENT_HMAC_KEYS": settings.EVENT_HMAC_KEYS,
    }


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path):
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def server(env: dict[str, str], log: Path):
    import httpx

    port = _free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    with _process([str(GUNICORN), "-c", "crowdpay/gunicorn.conf.py"], env, log) as proc:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path):
    args = [str(CELERY), "-A", "crowdpay", "worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip",
            "--without-mingle", "--hostname", f"bench-{uuid.uuid4().hex[:8]}@%h"]  # fmt: skip
    with _process(args, env, log) as proc:
        time.sleep(3)
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
        yield proc


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.content = status, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return _json.loads(self.content)


class _LeanClient:
    """A keep-alive HTTP/1.1 client on `http.client`: the load generator shares the machine's two
    cores with the server, PostgreSQL and Redis, so it should spend as little of them as it can
    (pgbench's client is C). httpx took about 2.8 ms of CPU per request here, this about 0.5 ms."""

    def __init__(self, timeout: float = 60) -> None:
        self.timeout, self.conn = timeout, None

    def _request(self, method: str, url: str, body: bytes | None, headers: dict) -> _Response:
        parts = urlsplit(url)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return _Response(response.status, response.read())
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def post(self, url: str, *, json: dict, headers: dict) -> _Response:
        body = _json.dumps(json).encode()
        return self._request("POST", url, body, {**headers, "Content-Type": "application/json"})

    def get(self, url: str, *, headers: dict, params: dict | None = None) -> _Response:
        return self._request("GET", url + (f"?{urlencode(params)}" if params else ""), None, headers)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _bearer(owner: uuid.UUID) -> str:
    from crowdpay.api.tokens import token_issue

    return f"Bearer {token_issue(sub=owner, scope=SCOPES, ttl=3600)}"


def _clients(count: int, seconds: float, body) -> tuple[list[float], list[str], float]:
    """`count` threads, each with its own keep-alive connection, calling `body(client, rng_index)`
    until the time is up; returns latencies, error samples and the elapsed time."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count + 1)

    def run(n: int) -> None:
        client = _LeanClient(timeout=60)
        try:
            body(client, n, warmup=True)
            barrier.wait()
            deadline = time.perf_counter() + seconds
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                start = time.perf_counter()
                problem = body(client, n * 1_000_000 + i)
                took = time.perf_counter() - start
                with lock:
                    if problem:
                        errors.append(problem)
                    else:
                        latencies.append(took)
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for t in threads:
        t.join(timeout=seconds + 120)
    return latencies, errors, time.perf_counter() - started


def transfer_request(base: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], tokens: dict):
    """One client's `POST /v1/transfer`, for `_clients`: from a random wallet, with its owner's
    token, to another; None when done in the request (200 SUCCEEDED), else what went wrong."""
    import random

    def transfer(client, n, warmup=False):
        rng = random.Random(n)
        (source, owner), (destination, _) = rng.sample(wallets, 2)
        response = client.post(
            f"{base}/v1/transfer",
            json={
                "from_wallet_id": str(source),
                "to_wallet_id": str(destination),
                "amount": rng.randint(1, 100_00),
                "currency": "USD",
                "memo": "bench",
            },
            headers={"Authorization": tokens[owner], "Idempotency-Key": str(uuid.uuid4())},
        )
        if response.status_code != 200 or response.json().get("status") != "SUCCEEDED":  # done in the request
            return f"{response.status_code} {response.text[:200]}"
        return None

    return transfer


def read_request(base: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], tokens: dict):
    """One client's `GET /v1/wallets/{id}`, for `_clients`, with the owner's token."""

    def read(client, n, warmup=False):
        wallet, owner = wallets[n % len(wallets)]
        response = client.get(f"{base}/v1/wallets/{wallet}", headers={"Authorization": tokens[owner]})
        return None if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"

    return read


def http_transfers(*, base: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], clients: int, seconds: float) -> dict:
    """Part 4. `wallets` are (wallet id, owner id) pairs; each transfer is from a random wallet,
    with its owner's token, to another."""
    tokens = {owner: _bearer(owner) for _, owner in wallets}
    transfer = transfer_request(base, wallets, tokens)

    latencies, errors, elapsed = _clients(clients, seconds, transfer)
    figures = summary(latencies, elapsed)
    figures.update(clients=clients, errors=len(errors), error_samples=errors[:5])

    latencies, errors, elapsed = _clients(clients, max(seconds / 3, 1), read_request(base, wallets, tokens))
    figures["get_wallet"] = summary(latencies, elapsed)
    figures["get_wallet"]["errors"] = len(errors)
    # Issue 18's aim for part 4: moving money costs at most 1.7x the simplest read, in the same run.
    figures["vs_get_wallet"] = ratio(figures["per_second"], figures["get_wallet"]["per_second"])
    return figures


def funding_sagas(*, base: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], clients: int, seconds: float) -> dict:
    """Part 6: credit, then long-poll the operation until the worker has finished the saga."""
    tokens = {owner: _bearer(owner) for _, owner in wallets}

    def fund(client, n, warmup=False):
        wallet, owner = wallets[n % len(wallets)]
        headers = {"Authorization": tokens[owner], "Idempotency-Key": str(uuid.uuid4())}
        response = client.post(
            f"{base}/v1/wallets/{wallet}/credit",
            json={"amount": 10_00, "currency": "USD", "source": "CARD", "reference": f"ch_test_ok_{uuid.uuid4().hex}"},
            headers=headers,
        )
        if response.status_code != 202:
            return f"{response.status_code} {response.text[:200]}"
        operation = response.json()
        deadline = time.monotonic() + 60
        while operation["status"] not in ("SUCCEEDED", "FAILED") and time.monotonic() < deadline:
            operation = client.get(
                f"{base}/v1/operations/{operation['id']}",
                params={"wait": 30},
                headers={"Authorization": headers["Authorization"]},
            ).json()
        return None if operation["status"] == "SUCCEEDED" else f"operation ended {operation['status']}: {operation}"

    latencies, errors, elapsed = _clients(clients, seconds, fund)
    figures = summary(latencies, elapsed)
    figures.update(clients=clients, errors=len(errors), error_samples=errors[:5])
    return figures
