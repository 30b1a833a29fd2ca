"""Seals: keyed checkpoints of each wallet's chain, written shortly after commit (chain v2, issue 18).

An event's `mac` needs the key but no lock; its `link` needs the lock but no key (PostgreSQL computes
it). Links alone do not stop someone who can write to the database: they could delete or reorder
events and recompute every unkeyed link. So, shortly after a movement commits, `seal_heads` certifies
each moved wallet's new head with `seal = HMAC(key, wallet|version|link)` (`chain.seal_mac`) in an
`EventSeal` row. `verify_events` then catches any rewrite, deletion or reordering at or before a seal;
and a tail left unsealed longer than `EVENT_SEAL_MAX_AGE_SECONDS` (seals deleted, or the sealer down)
is itself reported as tampering. The window this leaves is described in the README ("Sealing window").

How the sealer stays out of the movements' way:
- Every movement upserts one `UnsealedHead` row per wallet it appended to, inside its transaction and
  under its wallet locks (`since` keeps the first unsealed moment).
- `seal_heads` takes a batch of those rows `FOR UPDATE SKIP LOCKED`: a row a movement is upserting
  right now is skipped (sealed next time), and two sealers never take the same row. While the sealer
  holds a row, a movement of that wallet waits for it only at its upsert, for the few milliseconds of
  this short transaction, and the sealer itself never waits for a movement.
- It reads each wallet's committed head (version, head_link) WITHOUT locking the wallet row. Because
  a movement of that wallet cannot commit while the sealer holds its queue row (the movement's upsert
  waits for it), the head read is the head the queue row announced, or an earlier committed one.
- The seal's foreign key to its wallet is checked immediately (NOT DEFERRABLE, as the write path's
  FKs, wallets.0005): its `FOR KEY SHARE` on the wallet row does not conflict with the movements'
  `FOR NO KEY UPDATE`, so no wallet lock is ever waited for or taken in a conflicting mode.
- The queue row is deleted only `WHERE version <= sealed version`: a newer head that arrived meanwhile
  keeps its row (and its `since`), and is sealed by the next run.
- `EventSeal` is inserted `ON CONFLICT (wallet, version) DO NOTHING`: sealing the same head twice
  (two runs after a crash between insert and delete) is harmless.

Where it runs: a Celery beat task every `EVENT_SEAL_INTERVAL_SECONDS` (wallets.tasks.seal_heads),
`manage.py seal_events`, and, when Celery runs eagerly (no broker: `make run`), after the commit of
the movement itself (`seal_after_commit`), since no beat runs there.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import chain
from .models import EventSeal, UnsealedHead, Wallet

log = logging.getLogger(__name__)

BATCH = 1000


def seal_heads(*, limit: int = BATCH) -> int:
    """Seal up to `limit` queued wallet heads in one short transaction; return how many were sealed.
    Call it again while it returns `limit` to drain a backlog (`seal_all` does)."""
    key_id = chain.key_ring().current_id
    with transaction.atomic():
        queued = dict(
            UnsealedHead.objects.select_for_update(skip_locked=True)
            .order_by("wallet_id")
            .values_list("wallet_id", "version")[:limit]
        )
        if not queued:
            return 0
        # A plain read of the committed heads: no lock on the wallet rows (see the module docstring).
        heads = list(Wallet.objects.filter(pk__in=queued).order_by("pk").values_list("pk", "version", "head_link"))
        now = timezone.now()
        seals = [
            EventSeal(
                wallet_id=wallet_id,
                version=version,
                link=link,
                key_id=key_id,
                seal=chain.seal_mac(key_id, wallet_id, version, link),
                sealed_at=now,
            )
            for wallet_id, version, link in heads
            if version > 0
        ]
        EventSeal.objects.bulk_create(seals, batch_size=BATCH, ignore_conflicts=True)
        # The queue rows are ours until commit (no movement can change their version meanwhile), so
        # "delete only WHERE version <= the sealed version" is decided here, on the versions just read.
        sealed = [wallet_id for wallet_id, version, _ in heads if queued[wallet_id] <= version]
        UnsealedHead.objects.filter(wallet_id__in=sealed).delete()
    return len(seals)


def seal_all(*, batch: int = BATCH, rounds: int | None = None) -> int:
    """Drain the queue (at most `rounds` batches): seal every head queued when it started and any that
    arrive meanwhile. The beat task bounds the rounds, so that under a write rate above what one
    sealer keeps up with it still ends; the next run, or one on another worker, takes over."""
    total = done = 0
    while rounds is None or done < rounds:
        sealed = seal_heads(limit=batch)
        total, done = total + sealed, done + 1
        if sealed < batch:
            break
    return total


def _seal_quietly() -> None:
    # After the movement's commit: it already succeeded, so a sealing failure must not look like its
    # failure. The queue row stays; the next seal (or `manage.py seal_events`) certifies the head.
    try:
        seal_heads()
    except Exception:
        log.exception("sealing after commit failed; the head stays queued for the next seal")


def seal_after_commit() -> None:
    """For the writer: when Celery runs tasks eagerly (no broker, `make run`), no beat seals the
    queue, so seal right after this transaction commits, outside its locks. With a broker, the beat
    task does it and this does nothing."""
    after_commit = getattr(settings, "EVENT_SEAL_AFTER_COMMIT", None)
    if after_commit is None:
        after_commit = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    if after_commit:
        transaction.on_commit(_seal_quietly)
