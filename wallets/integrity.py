"""Proofs over the whole ledger: chain verification (macs, links, seals), replay of the projection,
reconciliation.

All three stream the event table in (wallet, version) order in keyset-paginated batches, so memory
stays flat however many events there are: only one wallet's running state is kept at a time. The
wallet rows and the seals are streamed the same way, in the same order, and merged with the events.

They run for minutes on a large ledger, so each shows its progress (`Progress`): done / total, rate
and time left as a tqdm bar on a terminal, and a log line every `LOG_EVERY_SECONDS` otherwise (a
job's log, a pipe).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Sum
from django.utils import timezone
from tqdm import tqdm

from . import chain
from .models import Balance, Event, EventSeal, Hold, Posting, Wallet
from .projection import FIELDS, fold

log = logging.getLogger(__name__)

BATCH = 5000
LOG_EVERY_SECONDS = 10.0  # off a terminal: one progress line this often
REPLAY_FLUSH_WALLETS = 500  # replay compares this many wallets' balances with one query


# --- progress -------------------------------------------------------------------------------------


class Progress:
    """Done / total, rate and time left of one long pass. On a terminal, a tqdm bar on `stream`; off
    one (a pipe, a job's log), a log line of the same figures every `LOG_EVERY_SECONDS` and one at
    the end: a bar's carriage returns would fill a log file with one unreadable line.
    `Progress.null()` shows nothing (library calls, tests)."""

    FORMAT = "{desc}: {n:,}/{total:,}{unit} ({percentage:.0f}%), {rate_fmt}, {remaining} left"

    def __init__(self, label: str, total: int, *, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.label, self.total, self.done = label, total, 0
        self.quiet = quiet
        stream = stream or sys.stderr
        self.tty = not quiet and bool(getattr(stream, "isatty", lambda: False)())
        self.started = self.logged = time.monotonic()
        self.bar = tqdm(
            total=total,
            desc=label,
            unit=" events",
            unit_scale=True,
            file=stream,
            disable=not self.tty,
            dynamic_ncols=True,
            mininterval=0.5,
        )

    @classmethod
    def null(cls, label: str = "", total: int = 0) -> Progress:
        return cls(label, total, quiet=True)

    @classmethod
    def to(cls, stream: IO[str]) -> Callable[[str, int], Progress]:
        """A factory for the commands: each pass gets its own Progress on `stream`."""
        return lambda label, total: cls(label, total, stream=stream)

    @classmethod
    def for_command(cls, command: Any) -> Callable[[str, int], Progress]:
        """On a management command's stderr: the stream under Django's OutputWrapper, which would end
        every write with a newline and so break the bar's redraws."""
        return cls.to(getattr(command.stderr, "_out", command.stderr))

    def update(self, count: int) -> None:
        self.done += count
        if self.tty:
            self.bar.update(count)
        elif not self.quiet:
            now = time.monotonic()
            if now - self.logged >= LOG_EVERY_SECONDS:
                self.logged = now
                self._log(now)

    def close(self) -> None:
        self.bar.close()
        if not self.tty and not self.quiet:
            self._log(time.monotonic())

    def line(self, now: float) -> str:
        return tqdm.format_meter(
            self.done,
            max(self.total, self.done),
            now - self.started,
            prefix=self.label,
            unit=" events",
            unit_scale=True,
            bar_format=self.FORMAT,
        )

    def _log(self, now: float) -> None:
        log.info("%s", self.line(now), extra={"progress": {"done": self.done, "total": self.total}})


ProgressFactory = Callable[[str, int], Progress]


# --- streams --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """A projection another app keeps beside the balances (wallets.pods' contributions): `check()`
    returns its differences from a replay of the events, `rebuild()` rewrites it from them and
    returns how many rows changed. `replay` runs both (and `reconcile`, through it, the check)."""

    name: str
    check: Callable[[uuid.UUID | None], list[Problem]]
    rebuild: Callable[[uuid.UUID | None], int]


PROJECTIONS: list[Projection] = []


@dataclass
class Problem:
    check: str
    detail: str
    wallet_id: str | None = None
    event_version: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _uuid_param(value: Any) -> Any:
    # As the column stores it: uuid on PostgreSQL, 32 hex characters on SQLite.
    if connection.vendor == "postgresql":
        return value
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "")


def _stream(
    model: type[Model], key: tuple[str, ...], fields: tuple[str, ...], *, wallet_id: Any, batch: int
) -> Iterator[tuple]:
    """Yield (*key, *fields) of every row of `model` (of one wallet's, given `wallet_id`), in key
    order, one keyset page of `batch` rows at a time."""
    qs = model._default_manager.order_by(*key)
    if wallet_id is not None:
        qs = qs.filter(**{key[0]: wallet_id})
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    columns = [column_of[name] for name in key]
    last: tuple | None = None
    while True:
        page = qs
        if last is not None:
            # keyset on the unique index of `key`: a row comparison, which both databases answer
            # with one index range scan
            marks = ", ".join(["%s"] * len(key))
            after = f"({', '.join(columns)}) > ({marks})"  # column names from the model, values as parameters
            page = qs.extra(where=[after], params=[_uuid_param(last[0]), *last[1:]])  # noqa: S610  # nosec B610
        rows = list(page.values_list(*key, *fields)[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1][: len(key)]


def stream_events(
    *, wallet_id: uuid.UUID | None = None, fields=("type", "data"), batch: int = BATCH
) -> Iterator[tuple]:
    """Yield (wallet_id, version, *fields) for every event, ordered by wallet then version."""
    return _stream(Event, ("wallet_id", "version"), tuple(fields), wallet_id=wallet_id, batch=batch)


def _field_sql(name: str, kind: str) -> str:
    if connection.vendor == "postgresql":
        cast = {"int": "::bigint", "bool": "::boolean", "str": ""}[kind]
        return f"(data->>'{name}'){cast}"
    return f"json_extract(data, '$.{name}')"


def stream_effect_data(*, wallet_id: uuid.UUID | None = None, batch: int = BATCH) -> Iterator[tuple]:
    """Yield (wallet_id, version, type, data) for every event in (wallet, version) order, where data
    holds only the fields the projection reads (`projection.FIELDS`): the database extracts them,
    so replay decodes a few scalars per event instead of its whole JSON document."""
    names = list(FIELDS)
    columns = ", ".join(_field_sql(name, kind) for name, kind in FIELDS.items())
    where, params = [], []
    if wallet_id is not None:
        where.append("wallet_id = %s")
        params.append(_uuid_param(wallet_id))

    def page(after: bool) -> str:
        clauses = [*where, "(wallet_id, version) > (%s, %s)"] if after else where
        return (
            f"SELECT wallet_id, version, type, {columns} FROM {Event._meta.db_table}"
            + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
            + " ORDER BY wallet_id, version LIMIT %s"
        )

    pages = _pipelined_pages if connection.vendor == "postgresql" else _pages
    for rows in pages(page(False), page(True), params, batch):
        for row in rows:
            data = {name: value for name, value in zip(names, row[3:], strict=True) if value is not None}
            yield (row[0], row[1], row[2], data)


def _pages(first: str, after: str, params: list, batch: int) -> Iterator[list[tuple]]:
    """Keyset pages of `batch` rows: `first`, then `after` the last (wallet_id, version) read."""
    with connection.cursor() as cursor:
        cursor.execute(first, [*params, batch])
        while rows := cursor.fetchall():
            yield rows
            if len(rows) < batch:
                return
            cursor.execute(after, [*params, rows[-1][0], rows[-1][1], batch])  # as the database returned them


def _pipelined_pages(first: str, after: str, params: list, batch: int) -> Iterator[list[tuple]]:
    """`_pages` on PostgreSQL with the next page asked for before this one is handed out (psycopg's
    pipeline mode): the server reads and extracts page n + 1 while the caller folds page n, on the
    same connection, so a caller's snapshot (`reconcile`'s repeatable read) covers every page.
    Until the stream is exhausted or closed the connection is in pipeline mode: the caller may read
    (its queries go through the pipeline, answered in order) but must not write, because a
    statement's row count is not known there until the pipeline syncs, and Django's `save` reads
    it to choose between UPDATE and INSERT."""
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors, raw.pipeline(), raw.cursor() as one, raw.cursor() as other:
        cursors = (one, other)
        current = 0
        cursors[current].execute(first, [*params, batch])
        while True:
            rows = cursors[current].fetchall()
            full = len(rows) == batch
            if full:
                current ^= 1
                cursors[current].execute(after, [*params, rows[-1][0], rows[-1][1], batch])
            if rows:
                yield rows
            if not full:
                return


def _by_wallet(rows: Iterator[tuple]) -> Iterator[tuple[Any, list[tuple]]]:
    # The wallet id as the database returned it: a UUID on PostgreSQL, text on SQLite.
    current: Any = None
    bucket: list[tuple] = []
    for row in rows:
        if row[0] != current:
            if bucket:
                yield current, bucket
            current, bucket = row[0], []
        bucket.append(row)
    if bucket:
        yield current, bucket


class _Merge:
    """A sorted stream of rows keyed by wallet id (first column), read alongside the event stream:
    `upto(w)` yields the rows of wallets before `w` (they have no events), `take(w)` w's own rows."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self.rows = rows
        self.head: tuple | None = next(rows, None)

    def _advance(self) -> tuple:
        row, self.head = self.head, next(self.rows, None)
        if row is None:
            raise LookupError("the stream is exhausted")  # callers look at `head` first
        return row

    def upto(self, wallet_id: Any | None) -> Iterator[tuple]:
        while self.head is not None and (wallet_id is None or self.head[0] < wallet_id):
            yield self._advance()

    def take(self, wallet_id: Any) -> list[tuple]:
        taken = []
        while self.head is not None and self.head[0] == wallet_id:
            taken.append(self._advance())
        return taken


def _event_count(wallet_id: uuid.UUID | None) -> int:
    if wallet_id is not None:
        return Wallet.objects.filter(pk=wallet_id).values_list("version", flat=True).first() or 0
    return Event.objects.count()


# --- chain ----------------------------------------------------------------------------------------


@dataclass
class UnsealedTail:
    """The events of a stream after its last seal (all of it when it has none): normal for the
    `EVENT_SEAL_MAX_AGE_SECONDS` after a movement, tampering beyond (`stale`)."""

    wallet_id: str
    first_version: int
    last_version: int
    since: datetime  # when its first event occurred
    age_seconds: float
    stale: bool

    def as_dict(self) -> dict:
        return {**self.__dict__, "since": self.since.isoformat()}


@dataclass
class Verification:
    events: int = 0
    wallets: int = 0
    seals: int = 0
    problems: list[Problem] = field(default_factory=list)
    tails: list[UnsealedTail] = field(default_factory=list)


def _now() -> datetime:
    return timezone.now()


def verify(*, wallet_id: uuid.UUID | None = None, progress: ProgressFactory | None = None) -> Verification:
    """Check every stream (or one wallet's):

    - versions 1..n without gaps; each event's `mac` the HMAC of its content with the key `key_id`
      names (an unknown key id is a failure); each `link` = sha256(previous link ‖ mac ‖ version);
      the wallet row's version and head_link those of its last event;
    - each seal: its HMAC (again by key id), and its link equal to the link of the event at its
      version (a seal past the end of the stream: events were deleted);
    - the unsealed tail (events after the last seal) and its age; older than
      EVENT_SEAL_MAX_AGE_SECONDS, it is reported as tampering: seals deleted, or the sealer down.

    A content change breaks a mac (forging one needs the key); a deletion, reordering or rewrite by
    someone with database access but no key, who recomputes the links and the head, is caught by
    the seals at or after the rewritten place. One chain problem per broken stream (its first bad
    event) and one per bad seal.

    On PostgreSQL, outside a transaction, it reads one REPEATABLE READ snapshot: the events, the wallet
    rows and the seals are read by separate queries, and a movement or a seal committed between them
    would otherwise look like a head that does not match, or a seal past the end of its stream."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return verify(wallet_id=wallet_id, progress=progress)
    result = Verification()
    now, max_age = _now(), float(settings.EVENT_SEAL_MAX_AGE_SECONDS)
    bar = (progress or Progress.null)("verify_events", _event_count(wallet_id))
    wallets = _Merge(_stream(Wallet, ("id",), ("version", "head_link"), wallet_id=wallet_id, batch=BATCH))
    seals = _Merge(
        _stream(EventSeal, ("wallet_id", "version"), ("link", "key_id", "seal"), wallet_id=wallet_id, batch=BATCH)
    )
    fields = ("type", "data", "occurred_at", "key_id", "uid", "mac", "link")
    try:
        for wid, rows in _by_wallet(stream_events(wallet_id=wallet_id, fields=fields, batch=BATCH)):
            _orphans(result, wallets.upto(wid), seals.upto(wid))
            head = wallets.take(wid)
            wallet_seals = seals.take(wid)
            result.events += len(rows)
            result.wallets += 1
            result.seals += len(wallet_seals)
            _verify_stream(result, wid, rows, head[0] if head else None, wallet_seals, now, max_age)
            bar.update(len(rows))
        _orphans(result, wallets.upto(None), seals.upto(None))
    finally:
        bar.close()
    return result


def _orphans(result: Verification, wallets: Iterator[tuple], seals: Iterator[tuple]) -> None:
    for wid, *_ in wallets:
        result.problems.append(Problem("chain", "wallet has no events (WalletOpened is missing)", str(wid)))
    for wid, version, *_ in seals:
        result.problems.append(
            Problem("seal", f"seal of version {version} but the stream has no events", str(wid), version)
        )


def _verify_stream(
    result: Verification,
    wid: Any,
    rows: list[tuple],
    head: tuple | None,
    seals: list[tuple],
    now: datetime,
    max_age: float,
) -> None:
    sealed_versions = {version for _, version, *_ in seals}
    links: dict[int, str] = {}
    prev, expected_version = chain.GENESIS_LINK, 1
    bad: Problem | None = None
    for _, version, type_, data, occurred_at, key_id, uid, mac, link in rows:
        if version != expected_version:
            bad = Problem("chain", f"version {version} found where {expected_version} was expected", str(wid), version)
            break
        try:
            recomputed = chain.event_mac(key_id, wid, uid, type_, data, occurred_at)
        except LookupError as exc:
            bad = Problem("chain", str(exc), str(wid), version)
            break
        if recomputed != mac:
            bad = Problem("chain", f"{type_} does not match its HMAC: the event was altered", str(wid), version)
            break
        if link != chain.next_link(prev, mac, version):
            bad = Problem("chain", "link does not follow from the previous event's link", str(wid), version)
            break
        if version in sealed_versions:
            links[version] = link
        prev, expected_version = link, expected_version + 1
    end = expected_version - 1
    if bad is None and head is not None and (head[1], head[2]) != (end, prev):
        bad = Problem("chain", f"wallet head is at version {head[1]} but the stream ends at {end}", str(wid))
    if bad:
        result.problems.append(bad)
    last_sealed = 0
    for _, version, link, key_id, seal in seals:
        problem = _check_seal(wid, version, link, key_id, seal, links, end, broken=bad is not None)
        if problem:
            result.problems.append(problem)
            break
        last_sealed = version
    if bad is None and last_sealed < end:
        since = rows[last_sealed][4]  # the first unsealed event (version last_sealed + 1)
        age = (now - since).total_seconds()
        tail = UnsealedTail(str(wid), last_sealed + 1, end, since, round(age, 3), age > max_age)
        result.tails.append(tail)
        if tail.stale:
            result.problems.append(
                Problem(
                    "seal",
                    f"events #{tail.first_version}..#{tail.last_version} unsealed for {age:.0f} s, beyond "
                    f"EVENT_SEAL_MAX_AGE_SECONDS ({max_age:.0f} s): seals were deleted or the sealer is down",
                    str(wid),
                    tail.first_version,
                )
            )


def _check_seal(
    wid: Any, version: int, link: str, key_id: str, seal: str, links: dict[int, str], end: int, *, broken: bool
) -> Problem | None:
    try:
        expected = chain.seal_mac(key_id, wid, version, link)
    except LookupError as exc:
        return Problem("seal", f"seal of version {version}: {exc}", str(wid), version)
    if expected != seal:
        return Problem("seal", f"seal of version {version} does not match its HMAC: it was forged", str(wid), version)
    if version not in links:
        if broken:
            return None  # the chain broke before this version, and that is reported already
        return Problem(
            "seal",
            f"sealed version {version} is past the end of the stream (#{end}): events were deleted",
            str(wid),
            version,
        )
    if links[version] != link:
        return Problem(
            "seal",
            f"the link of event #{version} differs from its seal: the stream was rewritten at or before it",
            str(wid),
            version,
        )
    return None


def verify_chains(*, wallet_id: uuid.UUID | None = None) -> list[Problem]:
    """The tampering `verify` finds (a fresh unsealed tail is not one): what reconcile and the
    invariant tests assert is empty."""
    return verify(wallet_id=wallet_id).problems


# --- replay ---------------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    events: int = 0
    wallets: int = 0
    mismatches: list[Problem] = field(default_factory=list)
    repaired: int = 0


def _stored_balances(wallet_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[int]]]:
    stored: dict[uuid.UUID, dict[str, list[int]]] = defaultdict(dict)
    for wid, currency, posted, held in Balance.objects.filter(wallet_id__in=wallet_ids).values_list(
        "wallet_id", "currency", "posted", "held"
    ):
        stored[wid][currency] = [posted, held]
    return stored


def _nonzero(balances: dict[str, list[int]]) -> dict[str, list[int]]:
    return {c: v for c, v in balances.items() if v != [0, 0]}


def replay(
    *, wallet_id: uuid.UUID | None = None, dry_run: bool = False, progress: ProgressFactory | None = None
) -> ReplayResult:
    """Rebuild every balance from its events and compare it with the stored projection. Unless
    `dry_run`, a wallet whose projection differs is rebuilt under its wallet lock (re-reading its
    stream there, so a movement that raced the scan is counted), once the scan is over: while the
    event stream is open its connection only reads (`_pipelined_pages`)."""
    result = ReplayResult()
    bar = (progress or Progress.null)("replay_events", _event_count(wallet_id))
    pending: list[tuple[uuid.UUID, dict[str, list[int]]]] = []
    differing: list[uuid.UUID] = []

    def flush() -> None:
        stored = _stored_balances([wid for wid, _ in pending])
        for wid, replayed in pending:
            if _nonzero(stored.get(wid, {})) != _nonzero(replayed):
                result.mismatches.append(
                    Problem("projection", f"balances {stored.get(wid, {})} but events replay to {replayed}", str(wid))
                )
                differing.append(wid)
        pending.clear()

    for wid, rows in _by_wallet(stream_effect_data(wallet_id=wallet_id)):
        wid = wid if isinstance(wid, uuid.UUID) else uuid.UUID(wid)
        result.events += len(rows)
        result.wallets += 1
        pending.append((wid, fold((t, d) for _, _, t, d in rows)))
        bar.update(len(rows))
        if len(pending) >= REPLAY_FLUSH_WALLETS:
            flush()
    flush()
    bar.close()
    if not dry_run:
        result.repaired += sum(_rebuild(wid) for wid in differing)
    for projection in PROJECTIONS:
        differences = projection.check(wallet_id)
        result.mismatches += differences
        if differences and not dry_run:
            result.repaired += projection.rebuild(wallet_id)
    return result


def _rebuild(wallet_id: uuid.UUID) -> bool:
    """Overwrite one wallet's balance rows with the replay of its stream; the wallet lock keeps every
    movement out meanwhile. This, with the engine, is the only code that writes balances."""
    with transaction.atomic():
        # NO KEY UPDATE, as the ledger locks wallets: a foreign-key check (the sealer's) never waits on it.
        Wallet.objects.select_for_update(no_key=True).filter(pk=wallet_id).first()
        replayed = fold(Event.objects.filter(wallet_id=wallet_id).order_by("version").values_list("type", "data"))
        rows = {b.currency: b for b in Balance.objects.select_for_update().filter(wallet_id=wallet_id).order_by("pk")}
        changed = False
        for currency in sorted(set(rows) | set(replayed)):
            posted, held = replayed.get(currency, [0, 0])
            row = rows.get(currency) or Balance(wallet_id=wallet_id, currency=currency)
            if row.pk is None or (row.posted, row.held) != (posted, held):
                row.posted, row.held = posted, held
                row.save()
                changed = True
        return changed


# --- reconcile ------------------------------------------------------------------------------------


def reconcile(*, progress: ProgressFactory | None = None) -> list[Problem]:
    """Invariants 1-4 of DESIGN.md, read from one consistent snapshot where the database offers one;
    the replay and the chains' verification each report their progress through `progress`."""
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        problems: list[Problem] = []
        problems += _journals_balance()
        problems += _no_negative_balances()
        problems += _postings_match_balances()
        problems += _holds_match_balances()
        problems += replay(dry_run=True, progress=progress).mismatches
        problems += verify(progress=progress).problems
    return problems


def _journals_balance() -> list[Problem]:
    problems = []
    unbalanced = (
        Posting.objects.values("journal_id", "currency").annotate(total=Sum("amount")).exclude(total=0).order_by()
    )
    for row in unbalanced[:100]:
        problems.append(
            Problem("double_entry", f"journal {row['journal_id']} sums to {row['total']} {row['currency']}, not zero")
        )
    for total in Posting.objects.values("currency").annotate(total=Sum("amount")).exclude(total=0).order_by():
        problems.append(Problem("double_entry", f"the ledger sums to {total['total']} {total['currency']}, not zero"))
    return problems


def _no_negative_balances() -> list[Problem]:
    return [
        Problem("non_negative", f"{b.currency} posted={b.posted} held={b.held}", str(b.wallet_id))
        for b in Balance.objects.raw(
            f"SELECT * FROM {Balance._meta.db_table} WHERE held < 0 OR posted - held < 0 ORDER BY id LIMIT 100"
        )
    ]


def _postings_match_balances() -> list[Problem]:
    sums = {
        (r["wallet_id"], r["currency"]): r["total"]
        for r in Posting.objects.filter(wallet__isnull=False)
        .values("wallet_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    problems = []
    for wid, currency, posted in Balance.objects.values_list("wallet_id", "currency", "posted").iterator(
        chunk_size=BATCH
    ):
        total = sums.pop((wid, currency), 0)
        if total != posted:
            problems.append(
                Problem("postings", f"{currency} posted={posted} but its postings sum to {total}", str(wid))
            )
    for (wid, currency), total in sums.items():
        problems.append(
            Problem("postings", f"{currency} postings sum to {total} but there is no balance row", str(wid))
        )
    return problems


def _holds_match_balances() -> list[Problem]:
    active = {
        (r["wallet_id"], r["currency"]): r["total"]
        for r in Hold.objects.filter(status=Hold.Status.HELD)
        .values("wallet_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    problems = []
    for wid, currency, held in Balance.objects.exclude(held=0).values_list("wallet_id", "currency", "held"):
        if active.pop((wid, currency), 0) != held:
            problems.append(Problem("holds", f"{currency} held={held} differs from its open holds", str(wid)))
    for (wid, currency), total in active.items():
        problems.append(Problem("holds", f"{currency} open holds of {total} are not in held", str(wid)))
    return problems
