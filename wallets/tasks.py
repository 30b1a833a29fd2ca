"""The ledger's periodic jobs (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from . import sealing

ROUNDS = 50  # batches of sealing.BATCH heads per run


@shared_task(name="wallets.tasks.seal_heads", ignore_result=True)
def seal_heads() -> int:
    """Certify the wallets' new heads (wallets.sealing), every EVENT_SEAL_INTERVAL_SECONDS. Drains
    the queue, up to ROUNDS batches per run, so a backlog (the sealer was down) clears in a few
    runs; runs overlapping on two workers split the queue between them (SKIP LOCKED)."""
    return sealing.seal_all(rounds=ROUNDS)
