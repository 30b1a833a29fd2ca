"""Proofs over the whole ledger: chain verification, replay of the projection, reconciliation.

All three stream the event table in (wallet, version) order in keyset-paginated batches, so memory
stays flat however many events there are: only one wallet's running state is kept at a time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum

from . import chain, ledger
from .models import GENESIS_HASH, Balance, Event, Hold, Posting, Wallet
from .projection import FIELDS, fold

BATCH = 5000


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


def stream_events(
    *, wallet_id: uuid.UUID | None = None, fields=("type", "data"), batch: int = BATCH
) -> Iterator[tuple]:
    """Yield (wallet_id, version, *fields) for every event, ordered by wallet then version."""
    qs = Event.objects.order_by("wallet_id", "version")
    if wallet_id is not None:
        qs = qs.filter(wallet_id=wallet_id)
    last: tuple | None = None
    while True:
        page = qs
        if last is not None:
            # keyset on the unique (wallet, version) index: a row comparison, which both databases
            # answer with one index range scan
            page = qs.extra(where=["(wallet_id, version) > (%s, %s)"], params=[ledger.uuid_param(last[0]), last[1]])
        rows = list(page.values_list("wallet_id", "version", *fields)[:batch])
        if not rows:
            return
        yield from rows
        last = (rows[-1][0], rows[-1][1])


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
        params.append(ledger.uuid_param(wallet_id))
    last: tuple | None = None
    with connection.cursor() as cursor:
        while True:
            clauses = list(where)
            page_params = list(params)
            if last is not None:
                clauses.append("(wallet_id, version) > (%s, %s)")
                page_params += list(last)  # as the database returned them
            cursor.execute(
                f"SELECT wallet_id, version, type, {columns} FROM {ledger.EVENTS}"
                + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
                + " ORDER BY wallet_id, version LIMIT %s",
                [*page_params, batch],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            for row in rows:
                data = {name: value for name, value in zip(names, row[3:], strict=True) if value is not None}
                yield (row[0], row[1], row[2], data)
            last = (rows[-1][0], rows[-1][1])


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


# --- chain ----------------------------------------------------------------------------------------


def verify_chains(*, wallet_id: uuid.UUID | None = None) -> list[Problem]:
    """Check every stream: versions 1..n without gaps, each prev_hash the previous hash, each hash
    the HMAC of its event, and the wallet row's head equal to the last event. One problem per
    broken stream: its first bad event."""
    problems: list[Problem] = []
    heads = dict(
        (Wallet.objects.filter(pk=wallet_id) if wallet_id else Wallet.objects.all()).values_list("id", "version")
    )
    head_hashes = dict(
        (Wallet.objects.filter(pk=wallet_id) if wallet_id else Wallet.objects.all()).values_list("id", "head_hash")
    )
    seen: set[uuid.UUID] = set()
    fields = ("type", "data", "occurred_at", "key_id", "prev_hash", "hash")
    for wid, rows in _by_wallet(stream_events(wallet_id=wallet_id, fields=fields)):
        seen.add(wid)
        prev, expected_version = GENESIS_HASH, 1
        bad: Problem | None = None
        for _, version, type_, data, occurred_at, key_id, prev_hash, digest in rows:
            if version != expected_version:
                bad = Problem(
                    "chain", f"version {version} found where {expected_version} was expected", str(wid), version
                )
                break
            if prev_hash != prev:
                bad = Problem("chain", "prev_hash does not match the previous event's hash", str(wid), version)
                break
            try:
                recomputed = chain.event_hash(
                    key_id=key_id,
                    prev_hash=prev_hash,
                    wallet_id=str(wid),
                    version=version,
                    type=type_,
                    data=data,
                    occurred_at=occurred_at,
                )
            except LookupError as exc:
                bad = Problem("chain", str(exc), str(wid), version)
                break
            if recomputed != digest:
                bad = Problem("chain", f"{type_} does not match its HMAC: the event was altered", str(wid), version)
                break
            prev, expected_version = digest, expected_version + 1
        if bad is None and wid in heads and (heads[wid], head_hashes[wid]) != (expected_version - 1, prev):
            bad = Problem(
                "chain",
                f"wallet head is at version {heads[wid]} but the stream ends at {expected_version - 1}",
                str(wid),
            )
        if bad:
            problems.append(bad)
    for wid in set(heads) - seen:
        problems.append(Problem("chain", "wallet has no events (WalletOpened is missing)", str(wid)))
    return problems


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


def replay(*, wallet_id: uuid.UUID | None = None, dry_run: bool = False) -> ReplayResult:
    """Rebuild every balance from its events and compare it with the stored projection. Unless
    `dry_run`, a wallet whose projection differs is rebuilt under its wallet lock (re-reading its
    stream there, so a movement that raced the scan is counted)."""
    result = ReplayResult()
    pending: list[tuple[uuid.UUID, dict[str, list[int]]]] = []

    def flush() -> None:
        stored = _stored_balances([wid for wid, _ in pending])
        for wid, replayed in pending:
            if _nonzero(stored.get(wid, {})) != _nonzero(replayed):
                result.mismatches.append(
                    Problem("projection", f"balances {stored.get(wid, {})} but events replay to {replayed}", str(wid))
                )
                if not dry_run and _rebuild(wid):
                    result.repaired += 1
        pending.clear()

    for wid, rows in _by_wallet(stream_effect_data(wallet_id=wallet_id)):
        wid = wid if isinstance(wid, uuid.UUID) else uuid.UUID(wid)
        result.events += len(rows)
        result.wallets += 1
        pending.append((wid, fold((t, d) for _, _, t, d in rows)))
        if len(pending) >= 500:
            flush()
    flush()
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
        Wallet.objects.select_for_update().filter(pk=wallet_id).first()
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


def reconcile() -> list[Problem]:
    """Invariants 1-4 of DESIGN.md, read from one consistent snapshot where the database offers one."""
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
        problems += replay(dry_run=True).mismatches
        problems += verify_chains()
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
            f"SELECT * FROM {ledger.BALANCES} WHERE held < 0 OR posted - held < 0 ORDER BY id LIMIT 100"
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
