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
