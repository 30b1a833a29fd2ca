"""Processes the harness owns: a private PostgreSQL cluster, a private Redis, gunicorn and a Celery
worker with beat, all on free local ports under one temporary directory. Each can be killed and
started again; `Stack.close()` stops every one of them (and only them)."""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return Path(initdb).parent


class PrivatePostgres:
    """`initdb` into a directory of our own and `pg_ctl` on a free port. initdb refuses to run as
    root, so as root the cluster belongs to the `postgres` OS user."""

    def __init__(self, root: Path) -> None:
        self.bin = _pg_bin()
        self.dir = root / "pg"
        self.port = free_port()
        self.as_user: list[str] = []
        self.dir.mkdir()
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            os.chown(root, pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/crowdpay"

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=timeout, cwd=self.dir)

    def init(self) -> PrivatePostgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "crowdpay")
        return self

    def restart(self) -> None:
        """What `pg_ctlcluster … restart` does: a fast shutdown (every connection is cut), then start."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        with open(self.dir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(self._pong, timeout=20, what="redis")
        return self

    def stop(self) -> None:
        """Stop the server (its data is gone: no persistence, as after a crash of a cache node)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _clean_env() -> dict[str, str]:
    drop = ("DJANGO_", "DATABASE_", "REDIS_", "COV_CORE_", "COVERAGE_", "PYTEST_", "CELERY_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class Keys:
    """An RSA pair of the harness's own: the service verifies with the public half."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def token(self, sub: str, scope: str, *, ttl: int = 3600, **claims: object) -> str:
        now = int(time.time())
        payload = {"sub": sub, "scope": scope, "iat": now, "exp": now + ttl, **claims}
        return jwt.encode(payload, self.private, algorithm="RS256")


class Stack:
    """PostgreSQL + Redis + gunicorn + Celery worker (with beat) in one temporary directory."""

    def __init__(self, *, web_threads: int = 16, worker_concurrency: int = 2, keep: bool | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crowdpay-reliability-"))
        # RELIABILITY_KEEP=1 keeps the folder (logs, data) of a failed run to read afterwards
        self.keep = bool(os.environ.get("RELIABILITY_KEEP")) if keep is None else keep
        self.keys = Keys()
        self.web_threads = web_threads
        self.worker_concurrency = worker_concurrency
        self.postgres = PrivatePostgres(self.root)
        self.redis = PrivateRedis(self.root)
        self.web_port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_starts = 0
        self.pii_markers = ("reliability.pii@example.com", "+44 20 7946 0958")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **_clean_env(),
            # production's settings on the sandbox providers (credits use the payment sandbox's tokens)
            "DJANGO_SETTINGS_MODULE": "crowdpay.settings.local_stack",
            "SECRET_KEY": "reliability-" + secrets.token_hex(32),
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "JWT_PUBLIC_KEY": self.keys.public,
            "EVENT_HMAC_KEYS": "rel1:" + secrets.token_hex(32),
            "PII_ENCRYPTION_KEYS": "rel1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "INFO",
            # the default lease (20 s) and sweep (5 s): the recovery after a worker kill it reports
            # is the shipped one
            "SAGA_PAYOUT_POLL_SECONDS": "2",
            "SAGA_RETRY_BASE_SECONDS": "0.5",
            "SAGA_RETRY_MAX_SECONDS": "5",
            "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Stack:
        self._env = self.env()  # one set of secrets for every process of this stack
        self.postgres.init()
        self.redis.start()
        self.manage("migrate", "--noinput", timeout=300)
        self.start_web()
        self.start_worker()
        return self

    def manage(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self._env, capture_output=True, text=True, timeout=timeout, check=check,
        )  # fmt: skip

    def python(self, module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=ROOT, env=self._env, capture_output=True, text=True, timeout=timeout, check=True,
        )  # fmt: skip

    def start_web(self) -> None:
        env = {
            **self._env,
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": str(self.web_threads),
            "GUNICORN_ACCESS_LOG": "1",
        }
        with open(self.root / "web.log", "ab") as log:
            self.web = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "crowdpay/gunicorn.conf.py"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

        def healthy() -> bool:
            if self.web.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + (self.root / "web.log").read_text()[-3000:])
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60, what="gunicorn")

    def start_worker(self) -> None:
        self.worker_starts += 1
        log_path = self.root / "worker.log"
        start_offset = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.worker = subprocess.Popen(
                [str(BIN / "celery"), "-A", "crowdpay", "worker", "--beat", "-s", str(self.root / "beat-schedule"),
                 "--pool=prefork", f"--concurrency={self.worker_concurrency}", "--without-gossip",
                 "--without-mingle", "--loglevel=INFO", "-n", f"reliability-{self.worker_starts}@%h"],
                cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

        def ready() -> bool:
            if self.worker.poll() is not None:
                raise RuntimeError("the worker exited:\n" + log_path.read_text()[-3000:])
            with open(log_path, "rb") as f:
                f.seek(start_offset)
                return b" ready." in f.read()

        wait_until(ready, timeout=90, what="the Celery worker")

    def kill_worker(self) -> None:
        """kill -9 the worker, its pool processes and its beat: the whole process group."""
        if self.worker and self.worker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)

    def close(self) -> None:
        for process in (self.web, self.worker):
            if process and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM if process is self.web else signal.SIGKILL)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        self.redis.stop()
        self.postgres.stop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    def logs(self) -> dict[str, str]:
        return {
            name: (self.root / name).read_text(errors="replace")
            for name in ("web.log", "worker.log")
            if (self.root / name).exists()
        }
