"""The ledger engine: lock, check, append, post — the only code that writes balances and events.

Every money service in `wallets.services` runs inside one `transaction.atomic()` (for an instant
transfer `movement()`, below, which is one too):

1. `lock()` takes the wallet rows, then their balance rows, each set in ascending id order (so two
   movements can never wait on each other in a cycle), and reads them. When given the movement's
   `reference` it also looks up the journal entry that reference may already have written, so the
   idempotency check costs no round trip of its own; given a journal to `post`, it inserts that
   in the same message, right after the locks (a replay then fails on the unique reference).
2. The service checks what it must (wallet status, hold state) against what it read under the lock.
3. `write()` derives every balance change from the events themselves (`projection.effects`), refuses
   anything that would leave negative available or held funds, extends each wallet's chain from the
   head stored on its row, and sends the balance updates, the chain heads, the events, the sealer's
   `UnsealedHead` upserts and (unless posted with the lock) the journal entry and its postings together.

The chain is v2 (`wallets.chain`, issue 18): each event's keyed `mac` is made when its `Append` is
built — before the lock wherever the service builds it first — and only the unkeyed `link`
(`chain.next_link`) is made here under the lock; `wallets.sealing` certifies the heads after commit.

Engine v2 (`wallets.plan` → `wallets.executor`: an immutable `MovementPlan` run by one PL/pgSQL call,
`ledger_execute`, or the ORM on SQLite) exists beside this engine and is tested on its own; no service
goes through it yet. Until every movement does, this module stays the write path, hooks included.

On PostgreSQL the statements of each step travel as one message (client-side binding, several
`EXECUTE`s of statements prepared once per connection in one simple-protocol query). Inside
`transaction.atomic()` a movement takes four round trips: BEGIN, lock, write, COMMIT. An instant
transfer runs in `movement()`, whose COMMIT rides in the write's message: three round trips, and the
rows stay locked for the Python work after the lock and the one write message.
`bench/` measures that interval. Elsewhere (SQLite) the same statements run one by one inside
`transaction.atomic()`: one code path, two transports. Validation, FX quotes and risk checks happen
before step 1. House accounts (`funding:USD` …) are only ever inserted as postings, never locked,
so a busy funding account is no hot spot.

Lock order — the rule that keeps movements free of deadlocks, foreign-key checks included:

- A movement locks its wallet rows in ascending id, then its balance rows in ascending id, in one
  statement each, before it writes anything that refers to them; it locks no other row (the rows it
  inserts are its own, and the journal's reference is only a unique-index entry).
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

import json
import logging
import random
import re
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from . import chain
from .errors import LedgerError, LedgerErrorCode
from .models import Balance, Event, JournalEntry, Posting, UnsealedHead, Wallet
from .projection import effects

WALLETS = Wallet._meta.db_table
BALANCES = Balance._meta.db_table
EVENTS = Event._meta.db_table
JOURNAL = JournalEntry._meta.db_table
POSTINGS = Posting._meta.db_table
UNSEALED = UnsealedHead._meta.db_table

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    head_link: str


@dataclass
class LockedBalance:
    id: int
    posted: int
    held: int


@dataclass
class Append:
    """An event to append to one wallet's stream. Its uid, time and mac (the keyed digest of its
    content, `chain.event_mac`) are made when it is built, with the current key: build it before
    taking the lock, and the lock is held only for the unkeyed link (`chain.next_link`)."""

    wallet_id: uuid.UUID
    type: str
    data: dict
    occurred_at: datetime = field(default_factory=timezone.now)
    uid: uuid.UUID = field(default_factory=uuid.uuid4)
    key_id: str = ""
    mac: str = ""

    def __post_init__(self) -> None:
        if not self.mac:
            self.key_id = self.key_id or chain.key_ring().current_id
            self.mac = chain.event_mac(self.key_id, self.wallet_id, self.uid, self.type, self.data, self.occurred_at)


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
    # (journal id, kind) already written under the reference given to `lock`, if any
    journal: tuple[uuid.UUID, str] | None = None

    def journal_for(self, reference: str, kind: str) -> uuid.UUID | None:
        """The id of the entry `reference` already wrote (the movement is a replay), else None."""
        if self.journal is None:
            return None
        journal_id, found_kind = self.journal
        if found_kind != kind:
            raise LedgerError(
                f"reference {reference!r} was already used for a {found_kind} entry",
                code=LedgerErrorCode.REFERENCE_CONFLICT,
            )
        return journal_id

    def wallet(self, wallet_id: uuid.UUID, access: tuple[str, ...]) -> LockedWallet:
        try:
            wallet = self.wallets[wallet_id]
        except KeyError:
            raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND) from None
        if wallet.status not in access:
            code = LedgerErrorCode.WALLET_CLOSED if wallet.status == "CLOSED" else LedgerErrorCode.WALLET_FROZEN
            raise LedgerError(f"wallet {wallet_id} is {wallet.status.lower()}", code=code, wallet_id=str(wallet_id))
        return wallet


# Statements other apps add to a movement, sent in `write()`'s batch and transaction (so they cost
# no extra round trip and commit or roll back with the movement). A hook takes the appends and the
# time of the write and returns (sql, params) pairs. compliance keeps its rolling outflow buckets so.
WriteHook = Callable[[list[Append], datetime], Iterable[tuple[str, list]]]
WRITE_HOOKS: list[WriteHook] = []
# The same for statements that depend on how the movement changes balances: a hook takes
# (wallet id, currency, available before, available after) for each balance the movement changes
# (rows it holds locked; nothing more is locked or read) and the time. Webhooks' balance monitors.
BalanceHook = Callable[[list[tuple[uuid.UUID, str, int, int]], datetime], Iterable[tuple[str, list]]]
BALANCE_HOOKS: list[BalanceHook] = []


@dataclass
class Written:
    journal_id: uuid.UUID | None
    events: list[tuple[uuid.UUID, int, str]]  # (wallet id, version, type)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def uuid_param(value: uuid.UUID) -> uuid.UUID | str:
    return value if _pg() else value.hex


def as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class Prepared:
    """A statement PostgreSQL parses and plans once per connection instead of once per movement.

    The engine's batches travel as simple-protocol messages, and in that protocol every statement
    is parsed, analysed, rewritten and planned again each time: on an idle server that was more
    than half of a transfer's backend CPU, before a single row was touched. So each of the
    engine's statements is PREPAREd once per connection and the batches send `EXECUTE name(...)`
    with the values bound client-side as before: still one message and one round trip per step,
    and PostgreSQL keeps the plan (a generic one once it has seen it is no worse). The statements
    take arrays or one JSON document, never a variable number of values, so one plan fits every
    movement. Prepared statements are per session and survive a rolled-back transaction; a new
    connection prepares them again on its first batch (a connection pooler that hands one
    session's statements to another, pgbouncer in transaction mode, is not supported here).
    """

    _all: dict[str, Prepared] = {}

    def __init__(self, name: str, types: tuple[str, ...], sql: str) -> None:
        self.name, self.types, self.sql = name, types, sql
        self.execute = f"EXECUTE {name}({', '.join(['%s'] * len(types))})"
        Prepared._all[name] = self

    def __call__(self, *params: object) -> tuple[str, list]:
        if len(params) != len(self.types):
            raise TypeError(f"{self.name} takes {len(self.types)} values, not {len(params)}")
        return self.execute, list(params)

    @classmethod
    def ensure(cls, conn) -> None:
        """PREPARE every registered statement on `conn` (a psycopg connection) unless done."""
        done = _prepared_on.get(conn)
        if done is not None and len(done) == len(cls._all):
            return
        done = _prepared_on.setdefault(conn, set())
        missing = [statement for name, statement in cls._all.items() if name not in done]
        with conn.cursor() as cursor:
            for statement in missing:
                cursor.execute(f"PREPARE {statement.name}({', '.join(statement.types)}) AS {statement.sql}")
                done.add(statement.name)


_PLAIN = re.compile(r"[A-Za-z0-9:_.-]*")


def _array(values: Iterable[object]) -> object:
    """An array parameter as PostgreSQL's array text ('{1,2}'), built with one join instead of
    psycopg adapting each element in Python; the prepared statement's types cast it. Only for
    elements that need no quoting in that syntax (numbers, UUIDs, hex digests, currency codes);
    anything else goes to psycopg as a list."""
    values = list(values)
    texts = [str(value) for value in values]
    if all(text and _PLAIN.fullmatch(text) for text in texts):
        return "{" + ",".join(texts) + "}"
    return values


_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # psycopg connection -> names


# The engine's statements on PostgreSQL. Locks are taken in ascending id order: `ORDER BY id` under
# `FOR [NO KEY] UPDATE` locks the rows as the sort hands them out. Wallets are locked `FOR NO KEY
# UPDATE` so that no foreign-key check (KEY SHARE) ever waits on them (see "Lock order" above).
_JOURNAL_BY_REFERENCE = Prepared(
    "ledger_journal_by_reference", ("text",), f"SELECT id, kind FROM {JOURNAL} WHERE reference = $1"
)
_LOCK_WALLETS = Prepared(
    "ledger_lock_wallets",
    ("uuid[]",),
    f"SELECT id, status, version, head_link FROM {WALLETS} WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
)
# Balances are read by wallet and currency array, never by joining a row set: a prepared statement
# runs a generic plan, which cannot know how many rows an array or a set-returning function holds
# (it guesses ten), and for a join on such a guess it would hash and scan the whole table, a cost
# that grows with every wallet opened. `= ANY(array)` on an index plans as an index scan whatever
# the array's length. It locks every (wallet, currency) pair of the product; `lock()` keeps the pairs
# asked for (the extra rows belong to wallets this movement has just locked, so nobody waits on them).
_LOCK_BALANCES = Prepared(
    "ledger_lock_balances",
    ("uuid[]", "text[]"),
    f"SELECT id, wallet_id, currency, posted, held FROM {BALANCES}"
    " WHERE wallet_id = ANY($1) AND currency = ANY($2) ORDER BY id FOR UPDATE",
)
# The UPDATEs go one row per EXECUTE, each a primary-key probe, all in the write's one message.
_UPDATE_BALANCE = Prepared(
    "ledger_update_balance",
    ("bigint", "bigint", "bigint"),
    f"UPDATE {BALANCES} SET posted = posted + $2, held = held + $3 WHERE id = $1",
)
# `version = expected` is the optimistic check the stream's append states; the caller checks that
# every head moved, and the unique (wallet, version) constraint on events backs it up.
_UPDATE_HEAD = Prepared(
    "ledger_update_head",
    ("uuid", "bigint", "bigint", "text"),
    f"UPDATE {WALLETS} SET version = $2, head_link = $4 WHERE id = $1 AND version = $3",
)
_INSERT_EVENTS = Prepared(
    "ledger_insert_events",
    ("jsonb",),
    f"INSERT INTO {EVENTS} (wallet_id, version, type, data, occurred_at, key_id, uid, mac, link)"
    " SELECT e.wallet_id, e.version, e.type, e.data, e.occurred_at, e.key_id, e.uid, e.mac, e.link"
    " FROM jsonb_to_recordset($1) AS e(wallet_id uuid, version bigint, type text, data jsonb,"
    " occurred_at timestamptz, key_id text, uid uuid, mac text, link text)",
)
# The sealer's queue (wallets.sealing): one row per wallet whose head moved past its last seal.
# `since` keeps the first unsealed moment. The rows are this movement's own wallets, locked already.
_UPSERT_UNSEALED = Prepared(
    "ledger_upsert_unsealed",
    ("uuid[]", "bigint[]", "timestamptz"),
    f"INSERT INTO {UNSEALED} (wallet_id, version, since) SELECT u.w, u.v, $3 FROM unnest($1, $2) AS u(w, v)"
    " ON CONFLICT (wallet_id) DO UPDATE SET version = EXCLUDED.version",
)
_INSERT_JOURNAL = Prepared(
    "ledger_insert_journal",
    ("uuid", "text", "text", "text", "timestamptz"),
    f"INSERT INTO {JOURNAL} (id, reference, kind, memo, created_at) VALUES ($1, $2, $3, $4, $5)",
)
# A posting of a wallet that does not exist is left out rather than failing its (immediate) foreign
# key: `lock(post=...)` then refuses the movement with `wallet_not_found` before it returns, and the
# movement's transaction rolls back, as it does for any refusal.
_INSERT_POSTINGS = Prepared(
    "ledger_insert_postings",
    ("uuid", "jsonb"),
    f"INSERT INTO {POSTINGS} (journal_id, account, wallet_id, currency, amount)"
    " SELECT $1, p.account, p.wallet_id, p.currency, p.amount FROM jsonb_to_recordset($2)"
    " AS p(account text, wallet_id uuid, currency text, amount bigint)"
    f" WHERE p.wallet_id IS NULL OR EXISTS (SELECT FROM {WALLETS} w WHERE w.id = p.wallet_id)",
)


class _Own(threading.local):
    """The outermost `movement()` on this thread: whether its COMMIT went out with the write."""

    active = False
    committed = False


_own = _Own()


@contextmanager
def movement() -> Iterator[None]:
    """The transaction of one movement, `transaction.atomic()`, in which `write(..., last=True)`
    ends the movement.

    On PostgreSQL, when this block is the outermost one, `last` puts the COMMIT in the write's own
    message: the rows stay locked for that one round trip instead of two, and the locking process
    need not be scheduled again between them, which on a busy machine is most of the time a hot
    wallet spends locked. Django's commit at the end of the block then finds no transaction open and
    sends nothing; its rollback on an error after a failed message sends ROLLBACK as ever. Nothing
    may touch the database between that write and the end of the block (it would run outside the
    committed transaction), so the block refuses to end normally if it did not write with `last`.
    Elsewhere (SQLite, or nested in a caller's transaction) `last` changes nothing."""
    own = _pg() and not connection.in_atomic_block and not _own.active
    with transaction.atomic():
        if not own:
            yield
            return
        _own.active, _own.committed = True, False
        try:
            yield
        finally:
            committed = _own.committed
            _own.active = _own.committed = False
        if not committed:
            raise RuntimeError("a movement ended without write(..., last=True): rolled back")


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


def _selected(rows: list[tuple] | None) -> list[tuple]:
    """The rows of a statement that selects (a locking SELECT): a result set, never None."""
    if rows is None:
        raise RuntimeError("a locking SELECT returned no result set")
    return rows


def _batch(statements: list[tuple[str, list]]) -> list[tuple[list[tuple] | None, int]]:
    """Run the statements in order and return each one's (rows or None, rowcount).

    On PostgreSQL they go out as one simple-protocol message through a client-side-binding cursor:
    one round trip, and a failing statement aborts the rest (and the transaction). Elsewhere they
    run one by one. Driver errors become Django's (`IntegrityError` …) either way.
    """
    if not statements:
        return []
    results: list[tuple[list[tuple] | None, int]] = []
    if _pg():
        import psycopg

        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        sql = ";\n".join(statement for statement, _ in statements)
        params = [p for _, ps in statements for p in ps]
        with connection.wrap_database_errors:
            Prepared.ensure(connection.connection)
        with connection.wrap_database_errors, psycopg.ClientCursor(connection.connection) as cursor:
            cursor.execute(sql, params)
            while True:
                results.append((cursor.fetchall() if cursor.description else None, cursor.rowcount))
                if not cursor.nextset():
                    break
        return results
    with connection.cursor() as cursor:
        for statement, ps in statements:
            cursor.execute(statement, ps)
            results.append((cursor.fetchall() if cursor.description else None, cursor.rowcount))
    return results


def lock(
    *,
    wallet_ids: Iterable[uuid.UUID],
    pairs: Iterable[tuple[uuid.UUID, str]],
    create: Iterable[tuple[uuid.UUID, str]] = (),
    reference: str | None = None,
    post: Journal | None = None,
) -> Locked:
    """Lock and read the wallets and the (wallet, currency) balances a movement touches.

    Pairs listed in `create` get a zero balance row if they have none (a first credit in a
    currency); it is created under the wallet lock, so no two movements race to create it.
    With `reference`, the journal entry already written under it (if any) is read in the same
    round trip and returned as `Locked.journal`.

    With `post`, that journal entry and its postings are inserted in the same message, right after
    the locks (then give `write()` no journal): no round trip of their own while the rows stay
    locked, which bounds how fast a hot wallet (a CrowdPod many members pay into) can go. After the
    locks, not before: the postings' foreign keys to the wallets are checked by their INSERT
    (immediate constraints), and that KEY SHARE must land on wallets this movement already holds,
    inside the lock order. A replay of its reference fails on the unique constraint instead of being
    read back (`IntegrityError`, which `services._journal_once` answers).
    """
    wallet_ids = sorted(set(wallet_ids))
    pairs = sorted(set(pairs) | set(create))
    statements: list[tuple[str, list]] = []
    if _pg():
        if reference is not None:
            statements.append(_JOURNAL_BY_REFERENCE(reference))
        statements.append(_LOCK_WALLETS(_array(wallet_ids)))
        if pairs:
            statements.append(_LOCK_BALANCES(_array(wallet_ids), _array(sorted({c for _, c in pairs}))))
    else:
        for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
        if reference is not None:
            statements.append((f"SELECT id, kind FROM {JOURNAL} WHERE reference = %s", [reference]))
        statements.append(
            (
                f"SELECT id, status, version, head_link FROM {WALLETS}"
                f" WHERE id IN ({', '.join(['%s'] * len(wallet_ids))}) ORDER BY id{for_update}",
                [w.hex for w in wallet_ids],
            )
        )
        if pairs:
            statements.append(
                (
                    f"SELECT id, wallet_id, currency, posted, held FROM {BALANCES}"
                    f" WHERE (wallet_id, currency) IN (VALUES {', '.join(['(%s, %s)'] * len(pairs))})"
                    f" ORDER BY id{for_update}",
                    [p for w, c in pairs for p in (w.hex, c)],
                )
            )
    locks = len(statements)
    if post is not None:
        post.check_balanced()
        statements += _journal_statements(post, timezone.now())
    results = [_selected(rows) for rows, _ in _batch(statements)[:locks]]
    journal = None
    if reference is not None:
        found = results.pop(0)
        journal = (as_uuid(found[0][0]), found[0][1]) if found else None
    wallet_rows = results[0]
    balance_rows = results[1] if pairs else []
    wallets = {as_uuid(r[0]): LockedWallet(as_uuid(r[0]), r[1], r[2], r[3]) for r in wallet_rows}
    if post is not None:
        for leg in post.legs:
            if leg.wallet_id is not None and leg.wallet_id not in wallets:
                raise LedgerError(f"wallet {leg.wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    wanted = set(pairs)
    balances = {key: LockedBalance(r[0], r[3], r[4]) for r in balance_rows if (key := (as_uuid(r[1]), r[2])) in wanted}
    missing = [(w, c) for w, c in sorted(set(create)) if (w, c) not in balances and w in wallets]
    if missing and journal is None:
        with connection.cursor() as cursor:
            for wallet_id, currency in missing:
                cursor.execute(
                    f"INSERT INTO {BALANCES} (wallet_id, currency, posted, held) VALUES (%s, %s, 0, 0) RETURNING id",
                    [uuid_param(wallet_id), currency],
                )
                balances[(wallet_id, currency)] = LockedBalance(cursor.fetchone()[0], 0, 0)
    return Locked(wallets=wallets, balances=balances, journal=journal)


def write(
    locked: Locked,
    *,
    appends: list[Append],
    journal: Journal | None = None,
    now: datetime | None = None,
    extra: Iterable[tuple[str, list]] = (),
    last: bool = False,
) -> Written:
    """Append the events, apply their balance effects and post the journal, all or nothing.
    `extra` statements (sql, params) travel in the same batch, after the engine's and the hooks'.
    `last`: nothing follows in this movement; inside an outermost `movement()` on PostgreSQL the
    COMMIT then goes out in the same message."""
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
    moved: list[tuple[uuid.UUID, str, int, int]] = []  # for BALANCE_HOOKS
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
        moved.append((wallet_id, currency, balance.posted - balance.held, posted - held))
        balance.posted, balance.held = posted, held

    # Extend each stream's chain from the head read under the lock: only the unkeyed link is made
    # here, the macs were made when the appends were built.
    event_rows: list[list[object]] = []
    heads: dict[uuid.UUID, tuple[int, int, str]] = {}  # wallet id -> (expected version, new version, head)
    written: list[tuple[uuid.UUID, int, str]] = []
    for append in appends:
        wallet = locked.wallets[append.wallet_id]
        expected = heads[append.wallet_id][0] if append.wallet_id in heads else wallet.version
        version = wallet.version + 1
        link = chain.next_link(wallet.head_link, append.mac, version)
        event_rows.append(
            [
                append.wallet_id,
                version,
                append.type,
                append.data,
                append.occurred_at,
                append.key_id,
                append.uid,
                append.mac,
                link,
            ]
        )
        wallet.version, wallet.head_link = version, link
        heads[append.wallet_id] = (expected, version, link)
        written.append((append.wallet_id, version, append.type))

    balance_deltas = [
        (locked.balances[key].id, d_posted, d_held) for key, (d_posted, d_held) in deltas.items() if d_posted or d_held
    ]
    head_rows = [(w, version, expected, digest) for w, (expected, version, digest) in heads.items()]
    build = _statements_by_array if _pg() else _statements_by_row
    statements, heads_at = build(balance_deltas, head_rows, event_rows, now)
    if journal is not None:
        statements += _journal_statements(journal, now)
    hooked = [statement for hook in WRITE_HOOKS for statement in hook(appends, now)]
    if moved:
        hooked += [statement for hook in BALANCE_HOOKS for statement in hook(moved, now)]
    commit: list[tuple[str, list]] = [("COMMIT", [])] if last and _own.active else []
    results = _batch(statements + hooked + list(extra) + commit)
    if commit:
        _own.committed = True
    if heads:
        # With no beat (Celery eager, `make run`), seal the new heads once this commits.
        from .sealing import seal_after_commit  # sealing imports models and chain only

        seal_after_commit()
    if sum(results[at][1] for at in heads_at) != len(heads):
        # The row lock makes this unreachable, and a concurrent append would already have failed on
        # the unique (wallet, version) constraint, before any COMMIT in the message. Should it ever
        # fire after such a COMMIT, the movement is durable as written: fail loudly all the same
        # (`verify_events` names the wallet whose head and stream disagree).
        raise LedgerError("a stream moved on while it was being appended to", code=LedgerErrorCode.CONCURRENCY_CONFLICT)
    return Written(journal_id=journal.id if journal else None, events=written)


# The write's statements, in two spellings of the same rows. On PostgreSQL every statement is a
# prepared one whose generic plan touches only the rows it names: the UPDATEs one EXECUTE per row (a
# primary-key probe each; an UPDATE joined to a parameter array would plan as a hash join over the
# whole table, see `_LOCK_BALANCES`), the INSERTs all their rows as one JSON document
# (`jsonb_to_recordset`: one string escape instead of quoting every value, and an INSERT has no join
# to misplan). Elsewhere, plain statements with one placeholder per value. Both return (statements,
# indexes of the chain-head updates, whose row counts the caller checks).


def _rows(rows: list[dict]) -> str:
    return json.dumps(rows, default=str, separators=(",", ":"))


def _statements_by_array(balance_deltas, head_rows, event_rows, now):
    statements: list[tuple[str, list]] = []
    statements.extend(_UPDATE_BALANCE(*delta) for delta in balance_deltas)
    heads_at = list(range(len(statements), len(statements) + len(head_rows)))
    statements.extend(_UPDATE_HEAD(*head) for head in head_rows)
    if event_rows:
        statements.append(
            _INSERT_EVENTS(
                _rows(
                    [
                        {
                            "wallet_id": w,
                            "version": v,
                            "type": t,
                            "data": d,
                            "occurred_at": at.isoformat(),
                            "key_id": k,
                            "uid": u,
                            "mac": m,
                            "link": link,
                        }
                        for w, v, t, d, at, k, u, m, link in event_rows
                    ]
                ),
            )
        )
    if head_rows:
        statements.append(
            _UPSERT_UNSEALED(_array(w for w, _, _, _ in head_rows), _array(v for _, v, _, _ in head_rows), now)
        )
    return statements, heads_at


def _statements_by_row(balance_deltas, head_rows, event_rows, now):
    ops = connection.ops
    when = ops.adapt_datetimefield_value(now)
    statements: list[tuple[str, list]] = [
        (f"UPDATE {BALANCES} SET posted = posted + %s, held = held + %s WHERE id = %s", [d_posted, d_held, balance_id])
        for balance_id, d_posted, d_held in balance_deltas
    ]
    heads_at = []
    if head_rows:
        # One statement for every head: its row count is the number of heads that moved.
        heads_at.append(len(statements))
        statements.append(
            (
                f"UPDATE {WALLETS} SET version = CASE id {' '.join(['WHEN %s THEN %s'] * len(head_rows))} END,"
                f" head_link = CASE id {' '.join(['WHEN %s THEN %s'] * len(head_rows))} END"
                f" WHERE {' OR '.join(['(id = %s AND version = %s)'] * len(head_rows))}",
                [p for w, v, _, _ in head_rows for p in (uuid_param(w), v)]
                + [p for w, _, _, h in head_rows for p in (uuid_param(w), h)]
                + [p for w, _, e, _ in head_rows for p in (uuid_param(w), e)],
            )
        )
    if event_rows:
        statements.append(
            (
                f"INSERT INTO {EVENTS} (wallet_id, version, type, data, occurred_at, key_id, uid, mac, link) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(event_rows)),
                [
                    p
                    for w, v, t, d, at, k, u, m, link in event_rows
                    for p in (
                        uuid_param(w),
                        v,
                        t,
                        ops.adapt_json_value(d, None),
                        ops.adapt_datetimefield_value(at),
                        k,
                        uuid_param(u),
                        m,
                        link,
                    )
                ],
            )
        )
    if head_rows:
        statements.append(
            (
                f"INSERT INTO {UNSEALED} (wallet_id, version, since) VALUES "
                + ", ".join(["(%s, %s, %s)"] * len(head_rows))
                + " ON CONFLICT (wallet_id) DO UPDATE SET version = excluded.version",
                [p for w, v, _, _ in head_rows for p in (uuid_param(w), v, when)],
            )
        )
    return statements, heads_at


def _journal_statements(journal: Journal, now: datetime) -> list[tuple[str, list]]:
    """The journal entry and its postings, as (sql, params) pairs for this database."""
    statements: list[tuple[str, list]] = []
    if _pg():
        statements.append(_INSERT_JOURNAL(journal.id, journal.reference, journal.kind, journal.memo, now))
        statements.append(
            _INSERT_POSTINGS(
                journal.id,
                _rows(
                    [
                        {
                            "account": leg.account,
                            "wallet_id": leg.wallet_id,
                            "currency": leg.currency,
                            "amount": leg.amount,
                        }
                        for leg in journal.legs
                    ]
                ),
            )
        )
        return statements
    when = connection.ops.adapt_datetimefield_value(now)
    statements.append(
        (
            f"INSERT INTO {JOURNAL} (id, reference, kind, memo, created_at) VALUES (%s, %s, %s, %s, %s)",
            [uuid_param(journal.id), journal.reference, journal.kind, journal.memo, when],
        )
    )
    statements.append(
        (
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
    )
    return statements
