"""Executors of a `MovementPlan` (wallets.plan): one per backend, chosen once at start-up.

- PostgreSQL: `ledger_execute(plan jsonb)`, a PL/pgSQL function installed by migration
  `wallets.0009_ledger_execute` (SQL in wallets/sql/ledger_execute.sql). One statement, so one round
  trip: outside a transaction it runs in autocommit and is its own transaction; inside a caller's
  `transaction.atomic()` it is one statement of it. The rows are locked only inside the server,
  wallets then balances, each in ascending id order (the "Lock order" of `wallets.ledger`). A
  refusal comes back as a result with a code, having written nothing (no exception: the caller's
  transaction stays usable), and is raised here as `LedgerError(code)`.
- SQLite (the embedded `make run` default): the same plan through the ORM in `transaction.atomic()`,
  the same checks in the same order, the same rows. A writer holds the whole database there.

Rows other apps write with a movement (FX quote `used_at`, a pledge, …) are written by the owning
app with the ORM, in the same transaction, after the executor returns (a service's `then`). A
projection folded from the events after the movement writes nothing with it (wallets.pods:
contributions). Two things must be decided under the wallet lock, so the executor does them
itself: velocity, whose buckets are a plan element (`PlanVelocity`) it checks and writes, and the
webhooks' balance monitors, whose messages it writes from each changed balance's available funds
before and after (`wallets.monitors`; `Outcome.messages` says how many, and a dispatch is asked
for after the commit when there are any).

Deadlocks and serialization failures are run again by `ledger.retrying` (a backstop).
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from typing import Protocol

from django.db import connection, transaction
from django.db.models import F

from . import limits, monitors
from .chain import next_link
from .errors import LedgerError, LedgerErrorCode
from .models import Balance, Event, Hold, JournalEntry, Posting, UnsealedHead, VelocityBucket, Wallet
from .plan import WINDOW_MINUTES, MovementPlan, Outcome


class Executor(Protocol):
    def execute(self, plan: MovementPlan) -> Outcome: ...


def _refuse(code: str, detail: str, wallet_id: object = None) -> LedgerError:
    extra = {"wallet_id": str(wallet_id)} if wallet_id is not None else {}
    return LedgerError(detail, code=LedgerErrorCode(code), **extra)


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class PostgresExecutor:
    """One call of `ledger_execute`, one round trip."""

    SQL = "SELECT ledger_execute(%s::jsonb)"

    def execute(self, plan: MovementPlan) -> Outcome:
        payload = json.dumps(plan.as_json(), separators=(",", ":"), ensure_ascii=False)
        with connection.cursor() as cursor:
            cursor.execute(self.SQL, [payload])
            result = cursor.fetchone()[0]
        if isinstance(result, str):
            result = json.loads(result)
        if result.get("code"):
            raise _refuse(result["code"], result.get("detail", ""), result.get("wallet_id"))
        outcome = Outcome(
            journal_id=_as_uuid(result["journal_id"]) if result.get("journal_id") else None,
            hold_id=_as_uuid(result["hold_id"]) if result.get("hold_id") else None,
            replay=bool(result.get("replay")),
            noop=bool(result.get("noop")),
            balances=[(_as_uuid(w), c, before, after) for w, c, before, after in result.get("balances", [])],
            events=[(_as_uuid(w), v, t) for w, v, t in result.get("events", [])],
            messages=result.get("messages", 0),
        )
        monitors.written(outcome.messages)
        return outcome


class OrmExecutor:
    """The same plan through the ORM, for SQLite (and as the reference the PostgreSQL function is
    tested against)."""

    def execute(self, plan: MovementPlan) -> Outcome:
        with transaction.atomic():
            outcome = self._execute(plan)
        monitors.written(outcome.messages)
        return outcome

    def _execute(self, plan: MovementPlan) -> Outcome:
        ids = plan.wallet_ids
        # 1. the wallets, ascending id (FOR NO KEY UPDATE where the database has row locks)
        rows = Wallet.objects.filter(id__in=ids).order_by("id")
        if connection.features.has_select_for_update:
            rows = rows.select_for_update(no_key=True)
        wallets = {w.id: w for w in rows.only("id", "status", "version", "head_link")}
        # 2. idempotency
        if plan.journal_reference is not None:
            found = JournalEntry.objects.filter(reference=plan.journal_reference).values_list("id", "kind").first()
            if found is not None:
                if found[1] != plan.kind:
                    raise _refuse(
                        "reference_conflict",
                        f"reference {plan.journal_reference!r} was already used for a {found[1]} entry",
                    )
                return Outcome(journal_id=found[0], replay=True)
        if plan.hold_reference is not None:
            hold_id = Hold.objects.filter(reference=plan.hold_reference).values_list("id", flat=True).first()
            if hold_id is not None:
                return Outcome(hold_id=hold_id, replay=True)
        # 3. statuses
        for wallet_id, access in sorted(plan.wallets):
            wallet = wallets.get(wallet_id)
            if wallet is None:
                raise _refuse("wallet_not_found", f"wallet {wallet_id} does not exist", wallet_id)
            if wallet.status not in access.statuses:
                code = "wallet_closed" if wallet.status == Wallet.Status.CLOSED else "wallet_frozen"
                raise _refuse(code, f"wallet {wallet_id} is {wallet.status.lower()}", wallet_id)
        # 3b. a status change
        if plan.status is not None:
            wallet = wallets[plan.status.wallet_id]
            if wallet.status != plan.status.source:
                raise _refuse(
                    "invalid_transition",
                    f"wallet {wallet.id} is {wallet.status.lower()}, no longer {plan.status.source.lower()}",
                )
            if plan.status.require_empty and wallet.balances.exclude(posted=0, held=0).exists():
                raise _refuse("wallet_not_empty", "only an empty wallet can be closed")
        # 4. hold states
        for change in plan.hold_changes:
            status = (
                Hold.objects.filter(pk=change.id, wallet_id=change.wallet_id).values_list("status", flat=True).first()
            )
            if status is None:
                raise _refuse("hold_not_found", f"hold {change.id} does not exist")
            if status == Hold.Status.RELEASED and change.released_ok:
                return Outcome(noop=True)
            if status != Hold.Status.HELD:
                raise _refuse("hold_not_active", f"hold {change.id} is {status.lower()}")
        # 5. balances, ascending id, then funds
        currencies = sorted({c for _, c, _, _ in plan.deltas})
        balance_rows = Balance.objects.filter(wallet_id__in=ids, currency__in=currencies).order_by("id")
        if connection.features.has_select_for_update:
            balance_rows = balance_rows.select_for_update()
        balances = {(b.wallet_id, b.currency): b for b in balance_rows}
        for wallet_id, currency, d_posted, d_held in sorted(plan.deltas):
            balance = balances.get((wallet_id, currency))
            posted, held = (balance.posted, balance.held) if balance else (0, 0)
            if held + d_held < 0:
                raise _refuse("hold_not_active", "more would be released than is held")
            if (posted + d_posted) - (held + d_held) < 0 and (d_posted < 0 or d_held > 0):
                raise _refuse(
                    "insufficient_funds", f"wallet {wallet_id} has {posted - held} {currency} available", wallet_id
                )
        # 6. velocity
        for check in plan.velocity:
            own = limits.own(check.wallet_id) if check.own_limit else None
            limit = own if own is not None else check.limit
            if limit is None:
                continue
            spent = sum(
                VelocityBucket.objects.filter(
                    wallet_id=check.wallet_id, minute__gt=check.minute - WINDOW_MINUTES, minute__lte=check.minute
                ).values_list("amount", flat=True)
            )
            if max(spent, 0) + check.amount > limit:
                raise _refuse(
                    "velocity_limit_exceeded",
                    f"24 h outflow would be {max(spent, 0) + check.amount}, above the limit {limit}",
                    check.wallet_id,
                )
        # 7. write
        outcome = Outcome()
        for wallet_id, currency, d_posted, d_held in sorted(plan.deltas):
            balance = balances.get((wallet_id, currency))
            if balance is None:
                balance = Balance.objects.create(wallet_id=wallet_id, currency=currency, posted=d_posted, held=d_held)
                before = 0
            else:
                before = balance.posted - balance.held
                Balance.objects.filter(pk=balance.pk).update(posted=F("posted") + d_posted, held=F("held") + d_held)
                balance.posted, balance.held = balance.posted + d_posted, balance.held + d_held
            outcome.balances.append((wallet_id, currency, before, balance.posted - balance.held))
        events = []
        for event in plan.events:
            wallet = wallets[event.wallet_id]
            wallet.version += 1
            wallet.head_link = next_link(wallet.head_link, event.mac, wallet.version)
            events.append(
                Event(
                    wallet_id=event.wallet_id,
                    version=wallet.version,
                    type=event.type,
                    data=event.data,
                    occurred_at=event.occurred_at,
                    key_id=event.key_id,
                    uid=event.uid,
                    mac=event.mac,
                    link=wallet.head_link,
                )
            )
            outcome.events.append((event.wallet_id, wallet.version, event.type))
        if plan.status is not None:
            Wallet.objects.filter(pk=plan.status.wallet_id).update(status=plan.status.target)
        touched = sorted({e.wallet_id for e in plan.events})
        for wallet_id in touched:
            wallet = wallets[wallet_id]
            Wallet.objects.filter(pk=wallet_id).update(version=wallet.version, head_link=wallet.head_link)
        Event.objects.bulk_create(events)
        if plan.journal_id is not None:
            JournalEntry.objects.create(
                id=plan.journal_id,
                reference=str(plan.journal_reference),
                kind=plan.kind,
                memo=plan.memo,
                created_at=plan.now,
            )
            Posting.objects.bulk_create(
                Posting(
                    journal_id=plan.journal_id,
                    account=p.account,
                    wallet_id=p.wallet_id,
                    currency=p.currency,
                    amount=p.amount,
                )
                for p in plan.postings
            )
            outcome.journal_id = plan.journal_id
        for hold in plan.holds:
            Hold.objects.create(
                id=hold.id,
                reference=hold.reference,
                wallet_id=hold.wallet_id,
                currency=hold.currency,
                amount=hold.amount,
                purpose=hold.purpose,
            )
            outcome.hold_id = hold.id
        for change in plan.hold_changes:
            Hold.objects.filter(pk=change.id).update(status=change.to.value, updated_at=plan.now)
            outcome.hold_id = change.id
        for check in plan.velocity:
            bucket, created = VelocityBucket.objects.get_or_create(
                wallet_id=check.wallet_id, minute=check.minute, defaults={"amount": check.amount}
            )
            if not created:
                VelocityBucket.objects.filter(pk=bucket.pk).update(amount=F("amount") + check.amount)
        for wallet_id in touched:
            version = wallets[wallet_id].version
            if not UnsealedHead.objects.filter(wallet_id=wallet_id).update(version=version):
                UnsealedHead.objects.create(wallet_id=wallet_id, version=version, since=plan.now)
        # 8. the balance monitors crossed: their messages (wallets.monitors)
        outcome.messages = monitors.moved(outcome.balances, plan.now)
        return outcome


@cache
def _for(vendor: str) -> Executor:
    return PostgresExecutor() if vendor == "postgresql" else OrmExecutor()


def executor() -> Executor:
    """The executor of this process's database, chosen once."""
    return _for(connection.vendor)


def execute(plan: MovementPlan) -> Outcome:
    """Run the plan; a deadlock's victim runs again from the start outside a caller's transaction.
    Once per movement, `sealing.seal_after_commit()` (a seal after the commit when Celery runs
    eagerly, as in `make run`; nothing otherwise)."""
    from . import sealing
    from .ledger import retrying

    outcome = retrying(lambda: executor().execute(plan), what=plan.kind)
    sealing.seal_after_commit()
    return outcome
