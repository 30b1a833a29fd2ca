"""Part "replica": reads per second with one streaming replica against the primary alone, in one run.

A streaming replica of the local PostgreSQL (`crowdpay.tests.replica.StreamingReplica`:
`pg_basebackup -R -X stream`, `pg_ctl` on a free port, statement logging off) follows the bench's
ledger database. Then the same load twice, through gunicorn as part 4 runs it (`http.server_env`):
`clients` threads with keep-alive reading `GET /v1/wallets/{id}` (the wallet projection with its
balances, a replica-readable view) for `seconds`,

1. **primary alone**: no `REPLICA_DATABASE_URLS`;
2. **with the replica**: `REPLICA_DATABASE_URLS` set, so each read goes to the replica once the
   replica has replayed the client's `CrowdPay-Read-After` (none is sent here: these readers wrote
   nothing) and is within `REPLICA_MAX_LAG_SECONDS`.

Reported: requests/s, p50/p99 of each phase, the ratio (2 over 1), and the transactions each server
committed in the ledger database during phase 2 (`pg_stat_database.xact_commit`), which shows the
reads really went to the replica. On one machine both clusters share the same cores: the ratio says
what the routing costs and what a replica on its own host could take off the primary, not a
speed-up of this box.
"""

from __future__ import annotations

import uuid

import psycopg

from .config import RESULTS
from .http import _bearer, _clients, server, server_env
from .stats import ratio, summary


def _commits(url: str) -> int:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _reads(base: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], clients: int, seconds: float) -> dict:
    tokens = {owner: _bearer(owner) for _, owner in wallets}

    def read(client, n, warmup=False):
        wallet, owner = wallets[n % len(wallets)]
        response = client.get(f"{base}/v1/wallets/{wallet}", headers={"Authorization": tokens[owner]})
        return None if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"

    latencies, errors, elapsed = _clients(clients, seconds, read)
    figures = summary(latencies, elapsed)
    figures.update(clients=clients, errors=len(errors), error_samples=errors[:5])
    return figures


def run(*, ledger_url: str, redis_url: str, wallets: list[tuple[uuid.UUID, uuid.UUID]], clients: int, seconds: float):
    from django.db import connections

    from crowdpay.tests.replica import StreamingReplica

    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    connections.close_all()
    replica = StreamingReplica(log_statements=False).create()
    try:
        dbname = ledger_url.rsplit("/", 1)[1]
        replica_url = replica.url(dbname)
        replica.wait_caught_up()
        env = server_env(ledger_url, redis_url)
        with server(env, logs / "gunicorn-primary.log") as base:
            primary_alone = _reads(base, wallets, clients, seconds)
        env_replica = {**env, "REPLICA_DATABASE_URLS": replica_url}
        with server(env_replica, logs / "gunicorn-replica.log") as base:
            on_primary, on_replica = _commits(ledger_url), _commits(replica_url)
            with_replica = _reads(base, wallets, clients, seconds)
            on_primary, on_replica = _commits(ledger_url) - on_primary, _commits(replica_url) - on_replica
        return {
            "primary_alone": primary_alone,
            "with_replica": with_replica,
            "ratio": ratio(with_replica["per_second"], primary_alone["per_second"]),
            "replica_port": replica.port,
            "transactions_during_replica_phase": {"primary": on_primary, "replica": on_replica},
        }
    finally:
        replica.close()
