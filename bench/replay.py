"""Part 5: `replay_events` over a large event table, beside the raw read of the same table.

The events are generated through the ledger engine itself (`wallets.plan` plans run by
`wallets.executor`), in big transactions: every event is HMAC-chained, every balance moved by its
own event, every movement posted in a balanced journal, so `reconcile` proves the generated ledger like any other. Each
generating transaction locks a chunk of wallets, runs four bulk fundings (one journal entry with a
leg and a `WalletCredited` per wallet) and then a few instant transfers between them (each its own
journal entry and its three events: TransferInitiated, TransferCompleted, WalletCredited). So about
nine events in ten are credits; the wallets are fixed, so streams grow longer as the table grows.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid

from .config import ROOT

CURRENCY = "USD"
CHUNK = 200  # wallets locked together in one generating transaction
FUNDINGS_PER_CHUNK = 4
TRANSFERS_PER_CHUNK = 30


def _fund(run, chunk: list[uuid.UUID]) -> None:
    """One journal entry funding every wallet of the chunk: a plan built by hand (the services
    fund one wallet per entry)."""
    from django.utils import timezone

    from wallets import plan as plans
    from wallets.projection import EventType

    amount, now, journal_id = 1000_00, timezone.now(), uuid.uuid4()
    reference = f"bench-funding:{uuid.uuid4()}"
    data = {
        "amount": amount,
        "currency": CURRENCY,
        "source": "funding",
        "reference": reference,
        "journal_id": str(journal_id),
        "saga_id": None,
    }
    events = [plans.PlanEvent.make(w, EventType.WALLET_CREDITED, dict(data), now) for w in chunk]
    run(
        plans.MovementPlan(
            kind="credit",
            now=now,
            journal_reference=reference,
            hold_reference=None,
            wallets=tuple((w, plans.Access.RECEIVE) for w in chunk),
            events=tuple(events),
            deltas=tuple((w, CURRENCY, amount, 0) for w in chunk),
            journal_id=journal_id,
            postings=(
                plans.PlanPosting(f"funding:{CURRENCY}", CURRENCY, -amount * len(chunk)),
                *(plans.PlanPosting(f"wallet:{w}", CURRENCY, amount, w) for w in chunk),
            ),
        )
    )


def event_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wallets_event")
        return cursor.fetchone()[0]


def generate(*, wallets: list[uuid.UUID], until: int) -> dict:
    """Append events until the table holds `until` of them. Returns how fast it went."""
    from django.db import transaction

    from wallets import executor
    from wallets import plan as plans

    run = executor.executor().execute

    start, have = time.perf_counter(), event_count()
    first = have
    round_no = 0
    while have < until:
        round_no += 1
        for offset in range(0, len(wallets), CHUNK):
            if have >= until:
                break
            chunk = sorted(wallets[offset : offset + CHUNK])
            with transaction.atomic():
                run(plans.lock_plan(wallet_ids=chunk))
                for _ in range(FUNDINGS_PER_CHUNK):
                    if have >= until:
                        break
                    _fund(run, chunk)
                    have += len(chunk)
                for i, source in enumerate(chunk[:TRANSFERS_PER_CHUNK]):
                    if have >= until:
                        break
                    destination = chunk[(i + 1) % len(chunk)]
                    amount = (round_no * 7 + i) % 500_00 + 1
                    run(
                        plans.transfer_plan(
                            transfer_id=uuid.uuid4(),
                            from_wallet_id=source,
                            to_wallet_id=destination,
                            amount=amount,
                            currency=CURRENCY,
                            memo="bench",
                        )
                    )
                    have += 3
    seconds = time.perf_counter() - start
    return {"events_written": have - first, "seconds": round(seconds, 1), "per_second": round((have - first) / seconds)}


def raw_read() -> dict:
    """Read the whole event table with `COPY … TO STDOUT`, throwing the bytes away."""
    from django.db import connection

    connection.ensure_connection()
    rows = size = 0
    start = time.perf_counter()
    with connection.connection.cursor() as cursor, cursor.copy("COPY wallets_event TO STDOUT") as copy:
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    seconds = time.perf_counter() - start
    return {"events": rows, "bytes": size, "seconds": round(seconds, 3), "per_second": round(rows / seconds)}


def replay_command(database_url: str) -> dict:
    """Run `manage.py replay_events --dry-run` in a fresh process (bench.replay_probe times it from
    inside, without Django's start-up) and read its peak resident memory from the kernel."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "crowdpay.settings.base"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.replay_probe"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"replay_events failed ({proc.returncode}): {out}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    figures["rss_growth_mb"] = round(figures["peak_rss_mb"] - figures["rss_before_mb"], 1)
    return figures


def rss_now_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
