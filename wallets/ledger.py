"""The ledger engine: lock, check, append, post — the only code that writes balances and events.

Every money service in `wallets.services` runs inside one `transaction.atomic()`:

1. `lock()` takes the wallet rows, then their balance rows, each set in ascending id order (so two
   movements can never wait on each other in a cycle), and reads them — one round trip on
   PostgreSQL, where both statements go out in a single pipeline.
2. The service checks what it must (wallet status, hold state) against what it read under the lock.
3. `write()` derives every balance change from the events themselves (`projection.effects`), refuses
   anything that would leave negative available or held funds, extends each wallet's HMAC chain from
   the head stored on its row, and sends the balance updates, the chain heads, the events, the
   journal entry and its postings in one more pipelined round trip.

Validation, FX quotes and risk checks happen before step 1: the row lock is held for two round
trips plus the commit. House accounts (`funding:USD` …) are only ever inserted as postings, never
locked, so a busy funding account is no hot spot.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from . import chain
from .errors import LedgerError, LedgerErrorCode
from .models import Balance, Event, JournalEntry, Posting, Wallet
from .projection import effects

WALLETS = Wallet._meta.db_table
BALANCES = Balance._meta.db_table
EVENTS = Event._meta.db_table
JOURNAL = JournalEntry._meta.db_table
POSTINGS = Posting._meta.db_table


class Access:
    """What a movement needs of a wallet's status. Money may arrive in a frozen wallet (it stays
    there, safe, until an officer decides) but may leave only an active one; a closed wallet takes
    part in nothing."""

    SEND = (Wallet.Status.ACTIVE,)
    RECEIVE = (Wallet.Status.ACTIVE, Wallet.Status.FROZEN)


@dataclass
class LockedWallet:
    id: uuid.UUID
    status: str
    version: int
    head_hash: str


@dataclass
class LockedBalance:
    id: int
    posted: int
    held: int


@dataclass
class Append:
    """An event to append to one wallet's stream."""

    wallet_id: uuid.UUID
    type: str
    data: dict


@dataclass
class Leg:
    """One posting of a journal entry: a customer wallet (`wallet_id` set) or a house account."""

    account: str
    currency: str
    amount: int
    wallet_id: uuid.UUID | None = None

    @classmethod
    def wallet(cls, wallet_id: uuid.UUID, currency: str, amount: int) -> Leg:
        return cls(account=f"wallet:{wallet_id}", currency=currency, amount=amount, wallet_id=wallet_id)

    @classmethod
    def house(cls, name: str, currency: str, amount: int) -> Leg:
        return cls(account=f"{name}:{currency}", currency=currency, amount=amount)


@dataclass
class Journal:
    reference: str
    kind: str
    legs: list[Leg]
    memo: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def check_balanced(self) -> None:
        totals: dict[str, int] = defaultdict(int)
        for leg in self.legs:
            if leg.amount == 0:
                raise ValueError("a posting of zero moves nothing")
            totals[leg.currency] += leg.amount
        unbalanced = {c: t for c, t in totals.items() if t}
        if unbalanced:
            raise ValueError(f"journal {self.reference} does not balance: {unbalanced}")


@dataclass
class Locked:
    wallets: dict[uuid.UUID, LockedWallet]
    balances: dict[tuple[uuid.UUID, str], LockedBalance]

    def wallet(self, wallet_id: uuid.UUID, access: tuple[str, ...]) -> LockedWallet:
        try:
            wallet = self.wallets[wallet_id]
        except KeyError:
            raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND) from None
        if wallet.status not in access:
            code = LedgerErrorCode.WALLET_CLOSED if wallet.status == "CLOSED" else LedgerErrorCode.WALLET_FROZEN
            raise LedgerError(f"wallet {wallet_id} is {wallet.status.lower()}", code=code, wallet_id=str(wallet_id))
        return wallet


@dataclass
class Written:
    journal_id: uuid.UUID | None
    events: list[tuple[uuid.UUID, int, str]]  # (wallet id, version, type)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def uuid_param(value: uuid.UUID) -> object:
    return value if _pg() else value.hex


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@contextlib.contextmanager
def _pipeline() -> Iterator[None]:
    """Send the statements of the block in one round trip where the driver can (psycopg 3 on
    PostgreSQL); elsewhere run them one by one. The code path is the same on both databases."""
    if _pg():
        # Errors surface when the pipeline syncs, outside Django's cursor: map them to Django's
        # exception classes (IntegrityError …) like any other query's.
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
    else:
        yield


def lock(
    *,
    wallet_ids: Iterable[uuid.UUID],
    pairs: Iterable[tuple[uuid.UUID, str]],
    create: Iterable[tuple[uuid.UUID, str]] = (),
) -> Locked:
    """Lock and read the wallets and the (wallet, currency) balances a movement touches.

    Pairs listed in `create` get a zero balance row if they have none (a first credit in a
    currency); it is created under the wallet lock, so no two movements race to create it.
    """
    wallet_ids = sorted(set(wallet_ids))
    pairs = sorted(set(pairs) | set(create))
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    wallet_sql = (
        f"SELECT id, status, version, head_hash FROM {WALLETS} WHERE id IN ({', '.join(['%s'] * len(wallet_ids))})"
        f" ORDER BY id{for_update}"
    )
    balance_sql = (
        f"SELECT id, wallet_id, currency, posted, held FROM {BALANCES}"
        f" WHERE (wallet_id, currency) IN (VALUES {', '.join(['(%s, %s)'] * len(pairs))}) ORDER BY id{for_update}"
    )
    balance_params = [p for w, c in pairs for p in (uuid_param(w), c)]
    with connection.cursor() as cursor:
        with _pipeline():
            cursor.execute(wallet_sql, [uuid_param(w) for w in wallet_ids])
            wallet_rows = cursor.fetchall()
            if pairs:
                cursor.execute(balance_sql, balance_params)
                balance_rows = cursor.fetchall()
            else:
                balance_rows = []
        wallets = {_as_uuid(r[0]): LockedWallet(_as_uuid(r[0]), r[1], r[2], r[3]) for r in wallet_rows}
        balances = {(_as_uuid(r[1]), r[2]): LockedBalance(r[0], r[3], r[4]) for r in balance_rows}
        missing = [(w, c) for w, c in sorted(set(create)) if (w, c) not in balances and w in wallets]
        for wallet_id, currency in missing:
            cursor.execute(
                f"INSERT INTO {BALANCES} (wallet_id, currency, posted, held) VALUES (%s, %s, 0, 0) RETURNING id",
                [uuid_param(wallet_id), currency],
            )
            balances[(wallet_id, currency)] = LockedBalance(cursor.fetchone()[0], 0, 0)
    return Locked(wallets=wallets, balances=balances)


def write(
    locked: Locked, *, appends: list[Append], journal: Journal | None = None, now: datetime | None = None
) -> Written:
    """Append the events, apply their balance effects and post the journal, all or nothing."""
    now = now or timezone.now()
    if journal is not None:
        journal.check_balanced()

    # Balance changes come from the events: the projection rule is the only rule.
    deltas: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0])
    for append in appends:
        for currency, posted, held in effects(append.type, append.data):
            delta = deltas[(append.wallet_id, currency)]
            delta[0] += posted
            delta[1] += held
    for (wallet_id, currency), (d_posted, d_held) in deltas.items():
        balance = locked.balances.get((wallet_id, currency))
        if balance is None:
            balance = locked.balances[(wallet_id, currency)] = LockedBalance(-1, 0, 0)
        posted, held = balance.posted + d_posted, balance.held + d_held
        if held < 0:
            raise LedgerError("more would be released than is held", code=LedgerErrorCode.HOLD_NOT_ACTIVE)
        if posted - held < 0 and (d_posted < 0 or d_held > 0):
            raise LedgerError(
                f"wallet {wallet_id} has {balance.posted - balance.held} {currency} available",
                code=LedgerErrorCode.INSUFFICIENT_FUNDS,
                wallet_id=str(wallet_id),
            )
        if balance.id < 0:
            raise RuntimeError(f"no balance row was locked for {wallet_id} {currency}")
        balance.posted, balance.held = posted, held

    # Extend each stream's chain from the head read under the lock.
    ring = chain.key_ring()
    event_rows: list[list[object]] = []
    heads: dict[uuid.UUID, tuple[int, int, str]] = {}  # wallet id -> (expected version, new version, head)
    written: list[tuple[uuid.UUID, int, str]] = []
    for append in appends:
        wallet = locked.wallets[append.wallet_id]
        expected = heads[append.wallet_id][0] if append.wallet_id in heads else wallet.version
        version = wallet.version + 1
        digest = chain.event_hash(
            key_id=ring.current_id,
            prev_hash=wallet.head_hash,
            wallet_id=str(append.wallet_id),
            version=version,
            type=append.type,
            data=append.data,
            occurred_at=now,
        )
        event_rows.append(
            [append.wallet_id, version, append.type, append.data, now, ring.current_id, wallet.head_hash, digest]
        )
        wallet.version, wallet.head_hash = version, digest
        heads[append.wallet_id] = (expected, version, digest)
        written.append((append.wallet_id, version, append.type))

    ops = connection.ops
    when = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor, _pipeline():
        for (wallet_id, currency), (d_posted, d_held) in deltas.items():
            if d_posted or d_held:
                cursor.execute(
                    f"UPDATE {BALANCES} SET posted = posted + %s, held = held + %s WHERE id = %s",
                    [d_posted, d_held, locked.balances[(wallet_id, currency)].id],
                )
        for wallet_id, (expected, version, digest) in heads.items():
            # `version = expected` is the optimistic check the stream's append states; the unique
            # (wallet, version) constraint on events backs it up.
            cursor.execute(
                f"UPDATE {WALLETS} SET version = %s, head_hash = %s WHERE id = %s AND version = %s",
                [version, digest, uuid_param(wallet_id), expected],
            )
        if event_rows:
            cursor.execute(
                f"INSERT INTO {EVENTS} (wallet_id, version, type, data, occurred_at, key_id, prev_hash, hash) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(event_rows)),
                [
                    p
                    for w, v, t, d, _, k, prev, h in event_rows
                    for p in (uuid_param(w), v, t, ops.adapt_json_value(d, None), when, k, prev, h)
                ],
            )
        if journal is not None:
            cursor.execute(
                f"INSERT INTO {JOURNAL} (id, reference, kind, memo, created_at) VALUES (%s, %s, %s, %s, %s)",
                [uuid_param(journal.id), journal.reference, journal.kind, journal.memo, when],
            )
            cursor.execute(
                f"INSERT INTO {POSTINGS} (journal_id, account, wallet_id, currency, amount) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(journal.legs)),
                [
                    p
                    for leg in journal.legs
                    for p in (
                        uuid_param(journal.id),
                        leg.account,
                        uuid_param(leg.wallet_id) if leg.wallet_id else None,
                        leg.currency,
                        leg.amount,
                    )
                ],
            )
    return Written(journal_id=journal.id if journal else None, events=written)
