"""Sizes of one bench run and where it runs. `BENCH_SMOKE=1` (or `--smoke`) shrinks everything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Sizes:
    pgbench_scale: int
    pgbench_seconds: int
    ledger_wallets: int
    ledger_processes: int
    ledger_seconds: float
    hot_processes: int
    hot_members_per_process: int
    replay_events: tuple[int, ...]  # replay is measured after each of these totals is reached
    replay_wallets: int
    http_wallets: int
    http_clients: int
    http_seconds: float
    saga_clients: int
    webhook_messages: int  # part "webhooks" (a): messages delivered to the loopback receiver
    webhook_threads: int  # (a): in-process delivery threads
    webhook_wallets: int  # (b): transferring wallets, each of its own owner (3 endpoints each)


FULL = Sizes(
    pgbench_scale=10,
    pgbench_seconds=15,
    ledger_wallets=1000,
    ledger_processes=4,
    ledger_seconds=15,
    hot_processes=16,
    hot_members_per_process=8,
    replay_events=(250_000, 1_000_000),
    replay_wallets=2000,
    http_wallets=200,
    http_clients=8,
    http_seconds=15,
    saga_clients=4,
    webhook_messages=3000,
    webhook_threads=4,
    webhook_wallets=200,
)

SMOKE = Sizes(
    pgbench_scale=1,
    pgbench_seconds=1,
    ledger_wallets=20,
    ledger_processes=2,
    ledger_seconds=1,
    hot_processes=3,
    hot_members_per_process=2,
    replay_events=(1_000, 3_000),
    replay_wallets=20,
    http_wallets=4,
    http_clients=2,
    http_seconds=1,
    saga_clients=1,
    webhook_messages=40,
    webhook_threads=2,
    webhook_wallets=6,
)


# The 24 h outflow limit of the bench's wallets (WALLET_DEFAULT_LIMIT, minor units of USD): the
# check runs on every outflow, as in production, but no bench wallet moves this much in a run.
BENCH_WALLET_LIMIT = 10_000_000_000_00


def smoke_requested() -> bool:
    return os.environ.get("BENCH_SMOKE", "") not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Target:
    """The ledger's database (dropped and re-created by every run) and pgbench's own one."""

    ledger_url: str
    pgbench_db: str

    @property
    def ledger_db(self) -> str:
        return urlsplit(self.ledger_url).path.lstrip("/")

    def url_for(self, dbname: str) -> str:
        parts = urlsplit(self.ledger_url)
        return urlunsplit(parts._replace(path=f"/{dbname}"))

    def libpq_args(self) -> list[str]:
        """Host, port and user for pgbench and friends, taken from the ledger's URL."""
        parts = urlsplit(self.ledger_url)
        args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        if parts.username:
            args += ["-U", parts.username]
        return args

    def env(self) -> dict[str, str]:
        parts = urlsplit(self.ledger_url)
        env = dict(os.environ)
        if parts.password:
            env["PGPASSWORD"] = parts.password
        return env


def redis_url() -> str:
    """The broker for part 6's worker (its queue is this bench's alone while it runs)."""
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def target() -> Target:
    url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/crowdpay_bench"
    target = Target(ledger_url=url, pgbench_db=os.environ.get("BENCH_PGBENCH_DATABASE", "crowdpay_pgbench"))
    for name in (target.ledger_db, target.pgbench_db):
        # Every run drops and re-creates both databases: refuse any name that is not plainly a bench's.
        if "bench" not in name:
            raise SystemExit(f"refusing to reset database {name!r}: a bench database's name contains 'bench'")
    return target
