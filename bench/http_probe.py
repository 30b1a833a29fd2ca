"""`python -m bench.http_probe`: what one `POST /v1/transfer` costs, request by request, in-process.

Part 4 measures the rate through gunicorn; this says where a request's cost goes, with measures the
machine's load does not inflate. It runs the production settings (`crowdpay.settings.local_stack`,
as part 4's server, with the same bench-only secrets and raised thresholds) in this process, opens
`--wallets` funded wallets of KYC-verified owners in the bench database (re-created: its name must
contain "bench"), then sends `--requests` transfers through Django's test client (the whole
middleware chain, DRF, the view, no socket) and reports per request:

- round trips to PostgreSQL, counted on the wire (libpq's trace, as `bench/roundtrips.py`), and the
  statements Django sent (`CaptureQueriesContext`), with the SQL of the last request;
- round trips to Redis (every command the redis client sends and reads back);
- CPU: this process (`time.process_time`) and its PostgreSQL backend (`/proc/<pid>/stat`);
- with `--profile out.prof`, a cProfile of the measured requests (`python -m pstats out.prof`), and
  with `--top N` the N functions of most cumulative time, printed.

Environment: BENCH_DATABASE_URL (default `postgres://postgres@127.0.0.1:5432/crowdpay_bench`; dropped
and re-created) and REDIS_URL (the throttle's and the broker's Redis; default
`redis://127.0.0.1:6379/0`). Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid

from . import config


def _environment(database_url: str, redis_url: str) -> None:
    """Part 4's server environment (bench/http.py `server_env`), set before Django starts."""
    from .http import server_settings

    secret = "bench-probe-secret-" + "x" * 40
    os.environ.update(
        {
            **server_settings(database_url, redis_url),
            "SECRET_KEY": secret,
            "EVENT_HMAC_KEYS": "bench1:" + hashlib.sha256(secret.encode() + b"event-hmac").hexdigest(),
            "EVENT_SEAL_AFTER_COMMIT": "False",
        }
    )
    key_file = config.ROOT / "var" / "keys" / "jwt_public.pem"
    if "JWT_PUBLIC_KEY" not in os.environ and key_file.is_file():
        os.environ["JWT_PUBLIC_KEY"] = key_file.read_text()


class _RedisCounter:
    """Counts what the redis client sends (every command, or a whole pipeline, goes through
    `send_packed_command` and is read back: one round trip each)."""

    def __init__(self) -> None:
        import redis.connection

        self.trips = 0
        self._cls = redis.connection.AbstractConnection
        self._original = self._cls.send_packed_command

    def __enter__(self) -> _RedisCounter:
        counter, original = self, self._original

        def send_packed_command(conn, command, check_health=True):
            counter.trips += 1
            return original(conn, command, check_health)

        self._cls.send_packed_command = send_packed_command  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc) -> None:
        self._cls.send_packed_command = self._original  # type: ignore[method-assign]


def _trips(lines: list[str]) -> int:
    trips, sending = 0, False
    for line in lines:
        if line[:1] == "F":
            sending = True
        elif line[:1] == "B" and sending:
            trips, sending = trips + 1, False
    return trips


def _statement_cpu(connection, post, requests: int) -> None:
    """Per statement kind, the backend's user + system CPU (getrusage around each statement, as
    PostgreSQL's `log_statement_stats` reports it in a notice) summed over `requests` requests."""
    import re
    from collections import defaultdict

    from django.test.utils import CaptureQueriesContext

    rusage = re.compile(r"([0-9.]+) s user, ([0-9.]+) s system")
    literal = re.compile(r"'(?:[^']|'')*'|\b[0-9]+\b")  # strings and numbers: one line per statement
    notices: list[float] = []

    def handler(diag) -> None:
        found = rusage.search(diag.message_detail or diag.message_primary or "")
        if found:
            notices.append(float(found.group(1)) + float(found.group(2)))

    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("SET log_statement_stats = on; SET client_min_messages = log")
    raw.add_notice_handler(handler)
    totals: dict[str, float] = defaultdict(float)
    try:
        for _ in range(requests):
            notices.clear()
            with CaptureQueriesContext(connection) as queries:
                post()
            sqls = [q["sql"] for q in queries.captured_queries]
            for sql, cpu in zip(sqls, notices[-len(sqls) :], strict=False):
                totals[literal.sub("?", " ".join(sql.split()))[:90]] += cpu
    finally:
        raw.remove_notice_handler(handler)
        with connection.cursor() as cursor:
            cursor.execute("RESET log_statement_stats; RESET client_min_messages")
    print("backend CPU per statement, ms per request:")
    for sql, cpu in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {cpu / requests * 1000:7.3f}  {sql}")
    print(f"  {sum(totals.values()) / requests * 1000:7.3f}  total")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wallets", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", help="write a cProfile of the measured requests to this file")
    parser.add_argument("--top", type=int, default=0, help="print the N functions of most cumulative time")
    parser.add_argument("--sql", action="store_true", help="print the statements of the last request")
    parser.add_argument(
        "--statement-cpu",
        action="store_true",
        help="the backend's CPU per statement (log_statement_stats, read back from the notices; superuser)",
    )
    parser.add_argument("--wire", action="store_true", help="print the messages sent to PostgreSQL by the last request")
    args = parser.parse_args(argv)

    target = config.target()
    from .__main__ import _reset_ledger_database

    _reset_ledger_database(target)
    _environment(target.ledger_url, os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from psycopg import pq

    from crowdpay.keys import ensure_dev_keys

    from .http import _bearer
    from .roundtrips import _server_cpu
    from .transfers import open_owned_wallets

    call_command("migrate", verbosity=0)
    ensure_dev_keys()
    wallets = open_owned_wallets(args.wallets)
    tokens = {owner: _bearer(owner) for _, owner in wallets}
    client = Client()
    rng = random.Random(18)

    def post() -> None:
        (source, owner), (destination, _) = rng.sample(wallets, 2)
        body = {
            "from_wallet_id": str(source),
            "to_wallet_id": str(destination),
            "amount": rng.randint(1, 100),
            "currency": "USD",
            "memo": "bench",
        }
        response = client.post(
            "/v1/transfer",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": tokens[owner], "Idempotency-Key": str(uuid.uuid4())},
        )
        if response.status_code != 200 or response.json().get("status") != "SUCCEEDED":
            raise SystemExit(f"transfer answered {response.status_code}: {response.content[:300]!r}")

    for _ in range(args.warmup):
        post()

    # One request at a time under the wire traces: round trips and statements.
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trips, statements, redis_trips, last_sql = [], [], [], []
    for _ in range(20):
        with (
            tempfile.TemporaryFile("w+") as trace,
            CaptureQueriesContext(connection) as queries,
            _RedisCounter() as redis_counter,
        ):
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                post()
            finally:
                pgconn.untrace()
            trace.seek(0)
            wire = trace.read().splitlines()
            trips.append(_trips(wire))
        statements.append(len(queries.captured_queries))
        redis_trips.append(redis_counter.trips)
        last_sql = [q["sql"] for q in queries.captured_queries]

    if args.statement_cpu:
        _statement_cpu(connection, post, args.requests)

    # CPU per request, no tracing.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    profiler = cProfile.Profile() if args.profile or args.top else None
    server_before, client_before, wall_before = _server_cpu(backend), time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for _ in range(args.requests):
        post()
    if profiler is not None:
        profiler.disable()
    client_cpu = (time.process_time() - client_before) / args.requests * 1000
    wall = (time.perf_counter() - wall_before) / args.requests * 1000
    server_after = _server_cpu(backend)
    server_cpu = (server_after - server_before) / args.requests * 1000 if server_before is not None else None

    report = {
        "requests": args.requests,
        "postgres_round_trips": statistics.median(trips),
        "postgres_round_trips_range": [min(trips), max(trips)],
        "statements": statistics.median(statements),
        "redis_round_trips": statistics.median(redis_trips),
        "client_cpu_ms": round(client_cpu, 3),
        "backend_cpu_ms": round(server_cpu, 3) if server_cpu is not None else None,
        "wall_ms": round(wall, 3),
        "profiled": profiler is not None,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    if args.wire:
        for line in wire:
            if line[:1] == "F":
                print("  ", line[:150])
    if args.sql:
        for sql in last_sql:
            print("  ", sql[:160])
    if profiler is not None:
        if args.profile:
            profiler.dump_stats(args.profile)
        if args.top:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
