"""The 24 h velocity limit: how much may leave a wallet in any trailing 24 hours.

Outflow is money committed to leave: a withdrawal's hold (FundsHeld) and a transfer's
(TransferInitiated, also on the instant path), less their compensations (FundsReleased,
TransferFailed), which are taken back from the minute the hold was placed. Captures
(WalletDebited, TransferCompleted) add nothing: their hold was counted. Conversions inside a wallet
are not outflows.

`outflow_statements` is registered as a `wallets.ledger.WRITE_HOOKS` entry: it upserts per-minute
`OutflowBucket` rows in the same pipeline and transaction as the movement, under the wallet's row
lock. `outflow_24h` then sums at most 1,440 rows through the unique (wallet, currency, minute) index
— a range read whose cost does not grow with the wallet's history. The window is minute-grained:
(now - 1440 min, now].

The limit is `WalletLimit.daily_limit` for the wallet, else `settings.WALLET_DEFAULT_LIMIT`, in minor
units, applied per currency.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from wallets.ledger import Append, Prepared, uuid_param
from wallets.models import Hold
from wallets.projection import EventType

from .models import OutflowBucket

WINDOW_MINUTES = 24 * 60
BUCKETS = OutflowBucket._meta.db_table

# A pledge to a CrowdPod goal (a hold on the member's wallet) is money committed to leave too.
_OUT = (EventType.FUNDS_HELD, EventType.TRANSFER_INITIATED, EventType.PLEDGE_MADE)
_BACK = (EventType.FUNDS_RELEASED, EventType.TRANSFER_FAILED, EventType.PLEDGE_RELEASED)


_UPSERT_SQL = (
    f"INSERT INTO {BUCKETS} (wallet_id, currency, minute, amount) VALUES {{}}"
    f" ON CONFLICT (wallet_id, currency, minute) DO UPDATE SET amount = {BUCKETS}.amount + excluded.amount"
)
# On PostgreSQL one prepared EXECUTE per bucket, in the movement's own message (see `ledger.Prepared`).
_UPSERT_BUCKET = Prepared(
    "compliance_upsert_outflow_bucket", ("uuid", "text", "bigint", "bigint"), _UPSERT_SQL.format("($1, $2, $3, $4)")
)


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def outflow_statements(appends: list[Append], now: datetime) -> Iterable[tuple[str, list]]:
    """The ledger write hook: one upsert per (wallet, currency, minute) touched by this movement."""
    changes: dict[tuple[uuid.UUID, str, int], int] = defaultdict(int)
    minute = epoch_minute(now)
    for append in appends:
        if append.type in _OUT:
            changes[(append.wallet_id, append.data["currency"], minute)] += append.data["amount"]
        elif append.type in _BACK:
            placed = Hold.objects.filter(pk=append.data["hold_id"]).values_list("created_at", flat=True).first()
            placed_minute = epoch_minute(placed) if placed else minute
            if placed_minute > minute - WINDOW_MINUTES:  # older releases no longer count anywhere
                changes[(append.wallet_id, append.data["currency"], placed_minute)] -= append.data["amount"]
    if not changes:
        return []
    rows = [(w, c, m, amount) for (w, c, m), amount in sorted(changes.items()) if amount]
    if connection.vendor == "postgresql":
        return [_UPSERT_BUCKET(*row) for row in rows]
    return (
        [
            (
                _UPSERT_SQL.format(", ".join(["(%s, %s, %s, %s)"] * len(rows))),
                [p for w, c, m, a in rows for p in (uuid_param(w), c, m, a)],
            )
        ]
        if rows
        else []
    )


def outflow_24h(*, wallet_id: uuid.UUID, currency: str, now: datetime | None = None) -> int:
    """Money committed to leave the wallet in the trailing 24 hours, in minor units of `currency`."""
    minute = epoch_minute(now or timezone.now())
    total = OutflowBucket.objects.filter(
        wallet_id=wallet_id, currency=currency, minute__gt=minute - WINDOW_MINUTES, minute__lte=minute
    ).aggregate(total=Sum("amount"))["total"]
    return max(total or 0, 0)


def outflow_buckets_prune(*, now: datetime | None = None) -> int:
    """Delete buckets that left the window more than an hour ago. Returns how many."""
    cutoff = epoch_minute(now or timezone.now()) - WINDOW_MINUTES - 60
    deleted, _ = OutflowBucket.objects.filter(minute__lt=cutoff).delete()
    return deleted
