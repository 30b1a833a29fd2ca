"""The ledger engine (issue 18, engine v2): every write of balances and events is a `MovementPlan`
(`wallets.plan`) run by one executor (`wallets.executor`), and this module keeps what they share:
the lock order every movement follows, and `retrying()`, the deadlock backstop.

How a movement runs:

1. `wallets.services` builds the plan before any transaction: amounts, currencies, the same-wallet
   refusal, the events with their uid and keyed mac (`chain.event_mac`), the balance changes derived
   from the events (`projection.effects`, the one rule), the balanced journal, the holds, the
   velocity buckets (amounts in `VELOCITY_BASE_CURRENCY`, converted with `fx.to_base`) and the
   default limit (`wallets.limits`; a wallet's own limit is read by the executor under its lock).
2. The executor runs it: on PostgreSQL one call of `ledger_execute(plan jsonb)` (wallets/sql), which
   locks, checks under the locks (statuses, hold states, funds, velocity limits, the idempotency
   reference) and writes everything, chain links included; a refusal comes back as a code and
   writes nothing. On SQLite the same through the ORM (`OrmExecutor`).
3. Rows other apps write with a movement are written by the owning app with the ORM, in the same
   transaction, after the executor returns: the service's own `then` (the saga of an instant
   transfer, an FX quote's `used_at`, a pledge row, a status change's webhook message). The
   webhooks' balance monitors are the exception: their messages are decided and written inside
   the executor's call, on the balances it has locked (`wallets.monitors`), so a movement with
   nothing after it runs alone: outside a caller's transaction the executor's one statement is the
   whole transaction, one round trip on PostgreSQL, monitors or not.
   A projection that need not be exact at the movement's commit is folded from the events after it
   instead (the pods' contributions: `wallets.pods.contributions`), so that a hot wallet's lock is
   held only inside the one call.
4. An owning app that must decide under the wallet locks what the movement appends (a CrowdPod's
   membership rules, which pledges of a batch to capture, refunds re-planned under the pod's lock)
   first runs a `plan.lock_plan` inside its transaction (the executor takes the locks, ascending id,
   and holds them to the commit), decides, then runs the movement's plan in the same transaction.
   (A pledge batch whose usual answer is known, every hold, tries that plan first and decides under
   its locks only when the executor refuses it: `services.pledges_capture`.)
5. `sealing.seal_after_commit()` once per movement (a seal after the commit in `make run`, where
   Celery runs eagerly and no beat runs; nothing with a broker).

Lock order — the rule that keeps movements free of deadlocks, foreign-key checks included:

- A movement locks its wallet rows in ascending id, then its balance rows in ascending id, in one
  statement each, inside the executor, before it writes anything that refers to them; it locks no
  other row (the rows it inserts are its own, and the journal's reference is only a unique-index
  entry; the balance monitors' step only reads the monitors and endpoints, which takes no lock, and
  inserts messages, whose table has no foreign key). A `lock_plan` takes the same wallet locks
  first; the movement's plan that follows in the same transaction takes them again (its own, free)
  then its balance rows. An owning app locks its own rows (pods: goal, pledge, member) only after
  the wallet locks, in its transaction.
- Wallet rows are locked `FOR NO KEY UPDATE`, never `FOR UPDATE`. A foreign-key check is a
  `FOR KEY SHARE` lock on the row it refers to, and KEY SHARE conflicts only with FOR UPDATE (and with
  deleting the row or changing its key, which nothing does: wallets are PROTECTed and their ids are
  fixed). So an FK check, wherever and whenever it runs (a saga row inserted for a review, with no
  wallet locked, checks both of its wallets), never waits on a movement and never makes one wait:
  it cannot close a cycle. With `FOR UPDATE` it could: a saga row committed while a 1→3 fan-out ran
  held KEY SHARE on one wallet and waited on the other, while a movement held that other one and
  waited on the first (issue 16: 503 `deadlock` for a few of 30 concurrent transfers).
- The foreign keys the write path inserts under (event, balance, hold, posting → wallet; posting →
  journal entry; saga → wallets; saga step, payout → saga; FX quote → wallet, journal entry) are
  `NOT DEFERRABLE` on PostgreSQL (migrations `wallets.0005_write_path_fks_immediate` and
  `sagas.0003_write_path_fks_immediate`): each is checked
  by the INSERT that needs it, at that place in the movement (after the locks, on rows this
  movement already holds: a KEY SHARE under our own NO KEY UPDATE is free), not at COMMIT after
  everything else. Django creates them `DEFERRABLE INITIALLY DEFERRED`; a migration that re-creates
  one must keep it immediate (`wallets.tests.test_lock_order` checks the catalogue).
- On SQLite a writer holds the whole database (IMMEDIATE transactions): no two can deadlock.

Should a deadlock or a serialization failure still happen, `retrying()` runs the whole transaction
again (`LEDGER_DEADLOCK_RETRIES` times at most, counted in `ledger_transaction_retries_total`): a
backstop, never the fix.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection

log = logging.getLogger(__name__)
T = TypeVar("T")


def uuid_param(value: uuid.UUID) -> uuid.UUID | str:
    """A UUID as a raw SQL parameter: PostgreSQL's uuid, SQLite's char(32) (Django's storage)."""
    return value if connection.vendor == "postgresql" else value.hex


def as_uuid(value: object) -> uuid.UUID:
    """A UUID read back from raw SQL (SQLite answers its hex text)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# A transaction PostgreSQL rolled back to break a deadlock (40P01) or a serialization conflict (40001).
_RETRYABLE = {"40P01": "deadlock", "40001": "serialization failure"}


def retrying(write: Callable[[], T], *, what: str = "movement") -> T:
    """Run `write()`, which opens and ends its own transaction and does nothing outside the
    database, and run it again from the start should PostgreSQL roll it back as a deadlock's victim
    or on a serialization failure: `LEDGER_DEADLOCK_RETRIES` times at most, each logged and counted
    (`ledger_transaction_retries_total`). A backstop only: the lock order (module docstring) is
    what keeps deadlocks out, and a test runs the API under load with no retry at all.

    Inside a caller's transaction nothing is retried: the locks taken before `write` stay held
    and what the caller did would not run again, so the error goes to the caller, whose whole
    transaction is what must be run again."""
    if connection.in_atomic_block:
        return write()
    retries = max(0, int(getattr(settings, "LEDGER_DEADLOCK_RETRIES", 3)))
    attempt = 0
    while True:
        try:
            return write()
        except OperationalError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if sqlstate not in _RETRYABLE or attempt >= retries or connection.in_atomic_block:
                raise
            attempt += 1
            from crowdpay.metrics import record_ledger_retry

            record_ledger_retry(sqlstate)
            log.warning(
                "ledger %s rolled back on a %s; running it again (%d of %d)",
                what,
                _RETRYABLE[sqlstate],
                attempt,
                retries,
                extra={"sqlstate": sqlstate, "attempt": attempt},
            )
            # jitter, not a secret: the two racers should not meet again
            time.sleep(random.uniform(0, 0.005 * attempt))  # nosec B311
