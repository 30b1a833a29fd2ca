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

    from wallets import ledger

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    batched: list[str] = []  # the engine sends its statements by batch, past Django's cursor
    original = ledger._batch

    def counting(statements):
        batched.extend(sql for sql, _ in statements)
        return original(statements)

    with tempfile.TemporaryFile("w+") as trace, CaptureQueriesContext(connection) as queries:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        ledger._batch = counting
        try:
            call()
        finally:
            ledger._batch = original
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
        "statements": len(queries.captured_queries) + len(batched),
        "sql": [q["sql"][:90] for q in queries.captured_queries] + [sql[:90] for sql in batched],
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
    other bench process competes (lock granted -> last message sent -> commit done)."""
    import random
    import time

    from wallets import ledger, services

    from .stats import ms, percentile

    rng = random.Random(7)
    marks: dict[str, float] = {}
    original, original_batch = ledger.lock, ledger._batch

    def timed_lock(**kwargs):
        locked = original(**kwargs)
        marks["locked"] = time.perf_counter()
        return locked

    def timed_batch(statements):
        marks["written"] = time.perf_counter()  # the last one a movement sends carries the COMMIT
        return original_batch(statements)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    server_before, client_before = _server_cpu(backend), time.process_time()
    held, engine, total = [], [], []
    ledger.lock, ledger._batch = timed_lock, timed_batch
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
            held.append(end - marks["locked"])
            engine.append(marks["written"] - marks["locked"])
            total.append(end - start)
    finally:
        ledger.lock, ledger._batch = original, original_batch
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
