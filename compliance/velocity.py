"""The 24 h velocity limit: how much may leave a wallet in any trailing 24 hours, counted in the
base currency (`VELOCITY_BASE_CURRENCY`).

Outflow is money committed to leave: a withdrawal's hold (FundsHeld), a transfer's
(TransferInitiated, also on the instant path) and a pledge's (PledgeMade), less their compensations,
which are taken back from the minute the hold was placed. Captures add nothing: their hold was
counted. Conversions inside a wallet are not outflows.

The ledger writes the per-minute buckets itself (`wallets.VelocityBucket`, a plan element the
executor writes under the wallet lock, amounts converted with `wallets.fx.to_base` before the lock).
`outflow_24h` sums at most 1,440 rows through the unique (wallet, minute) index. The window is
minute-grained: (now - 1440 min, now].

The limit is `WalletLimit.daily_limit` for the wallet, else `settings.WALLET_DEFAULT_LIMIT`, in minor
units of the base currency. Both are registered with the ledger (`wallets.limits`): the default goes
into each plan, the wallet's own is read under the wallet's lock inside the executor's call.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Sum
from django.utils import timezone

from wallets.models import VelocityBucket
from wallets.plan import WINDOW_MINUTES, epoch_minute

__all__ = ["WINDOW_MINUTES", "epoch_minute", "outflow_24h", "outflow_buckets_prune"]


def outflow_24h(*, wallet_id: uuid.UUID, currency: str | None = None, now: datetime | None = None) -> int:
    """Money committed to leave the wallet in the trailing 24 hours, in minor units of the base
    currency, whatever currency it left in (`currency` is accepted for callers of the per-currency
    count and ignored)."""
    minute = epoch_minute(now or timezone.now())
    total = VelocityBucket.objects.filter(
        wallet_id=wallet_id, minute__gt=minute - WINDOW_MINUTES, minute__lte=minute
    ).aggregate(total=Sum("amount"))["total"]
    return max(total or 0, 0)


def outflow_buckets_prune(*, now: datetime | None = None) -> int:
    """Delete buckets that left the window more than an hour ago. Returns how many."""
    cutoff = epoch_minute(now or timezone.now()) - WINDOW_MINUTES - 60
    deleted, _ = VelocityBucket.objects.filter(minute__lt=cutoff).delete()
    return deleted


def default_limit() -> int | None:
    """The 24 h outflow limit of a wallet with none of its own (`WALLET_DEFAULT_LIMIT`), in minor
    units of the base currency. Registered with the ledger at start-up (`wallets.limits`)."""
    from django.conf import settings

    return settings.WALLET_DEFAULT_LIMIT


def own_limit(wallet_id: uuid.UUID) -> int | None:
    """The wallet's own limit (`WalletLimit`), or None. The ledger reads it under the wallet's lock:
    on PostgreSQL through `wallet_outflow_limit(uuid)` (migration 0009, the same read in SQL), on
    SQLite by calling this."""
    from .models import WalletLimit

    return WalletLimit.objects.filter(wallet_id=wallet_id).values_list("daily_limit", flat=True).first()
