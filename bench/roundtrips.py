"""How many SQL round trips one transfer takes, counted on the wire.

libpq's own protocol trace (psycopg's `PGconn.trace`) logs every message sent (F) and received (B)
in order. Each switch from sending to receiving is the client waiting on the server: one round
trip. The statements are counted too, so a pipelined batch shows as many statements, one trip.
"""

from __future__ import annotations

import tempfile
import uuid

from psycopg import pq


def count(call) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.ensure_connection()
    pgconn = connection.connection.pgconn

    with tempfile.TemporaryFile("w+") as trace, CaptureQueriesContext(connection) as queries:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            call()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    trips, sending = 0, False
    for line in lines:
        direction = line[:1]
        if direction == "F":
            sending = True
        elif direction == "B" and sending:
            trips += 1
            sending = False
    messages = [line.split("\t")[2].split(" ")[0] for line in lines if line.startswith("F") and "\t" in line]
    return {
        "round_trips": trips,
        "statements": len(queries.captured_queries),
        "sql": [q["sql"][:90] for q in queries.captured_queries],
        "frontend_messages": len(messages),
    }


def transfer(source: uuid.UUID, destination: uuid.UUID) -> dict:
    from wallets import services

    return count(
        lambda: services.transfer_execute(
            transfer_id=uuid.uuid4(),
            from_wallet_id=source,
            to_wallet_id=destination,
            amount=1,
            currency="USD",
            memo="round trips",
        )
    )


def lock_window(wallets: list[uuid.UUID], count: int) -> dict:
    """One process, one transfer at a time, among `wallets`: how long the rows stay locked when no
        other bench process competes (the executor's statement sent -> its answer -> commit done: the rows
    are locked only inside that statement)."""
    import random
    import time

    from wallets import executor, services

    from .stats import ms, percentile

    rng = random.Random(7)
    marks: dict[str, float] = {}
    original = executor.PostgresExecutor.execute

    def timed(self, plan):
        marks["sent"] = time.perf_counter()  # the rows are locked only inside this one statement
        try:
            return original(self, plan)
        finally:
            marks["returned"] = time.perf_counter()

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    server_before, client_before = _server_cpu(backend), time.process_time()
    held, engine, total = [], [], []
    executor.PostgresExecutor.execute = timed  # type: ignore[method-assign]
    try:
        for _ in range(count):
            source, destination = rng.sample(wallets, 2)
            start = time.perf_counter()
            services.transfer_execute(
                transfer_id=uuid.uuid4(),
                from_wallet_id=source,
                to_wallet_id=destination,
                amount=1,
                currency="USD",
            )
            end = time.perf_counter()
            held.append(end - marks["sent"])
            engine.append(marks["returned"] - marks["sent"])
            total.append(end - start)
    finally:
        executor.PostgresExecutor.execute = original  # type: ignore[method-assign]
    server_after = _server_cpu(backend)
    return {
        "transfers": count,
        # CPU per transfer, which the machine's load does not inflate the way it does wall time.
        "client_cpu_ms": round((time.process_time() - client_before) / count * 1000, 3),
        "server_cpu_ms": (
            round((server_after - server_before) / count * 1000, 3) if server_before is not None else None
        ),
        "latency_p50_ms": ms(percentile(total, 50)),
        "lock_held_p50_ms": ms(percentile(held, 50)),
        "lock_held_p99_ms": ms(percentile(held, 99)),
        "lock_to_last_message_p50_ms": ms(percentile(engine, 50)),
    }


def _server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a local PostgreSQL backend (None when it is not on this machine)."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
