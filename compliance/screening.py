"""Screening: the one question the sagas ask compliance before money moves.

`screen()` answers approve, review (a soft decline: a human decides) or decline, with a stable code
and the reasons. This first version checks only the wallet's status and the 24 h velocity limit;
the compliance back-office (KYC gate, risk score, auto-freeze) extends it behind the same signature.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from wallets.models import Posting, Wallet

APPROVE, REVIEW, DECLINE = "approve", "review", "decline"
OUTFLOWS = ("withdraw", "transfer")


@dataclass(frozen=True)
class Decision:
    outcome: str  # approve | review | decline
    code: str | None = None  # stable, e.g. velocity_limit_exceeded, wallet_frozen
    reasons: tuple[str, ...] = field(default_factory=tuple)
    score: int | None = None

    @property
    def approved(self) -> bool:
        return self.outcome == APPROVE


def outflow_24h(*, wallet_id: uuid.UUID, currency: str) -> int:
    """Money that left the wallet in the trailing 24 hours, in minor units of `currency`."""
    since = timezone.now() - timedelta(hours=24)
    total = Posting.objects.filter(
        wallet_id=wallet_id, currency=currency, amount__lt=0, journal__created_at__gte=since
    ).aggregate(total=Sum("amount"))["total"]
    return -(total or 0)


def screen(
    *,
    operation: str,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    counterparty_wallet_id: uuid.UUID | None = None,
    saga_id: uuid.UUID | None = None,
) -> Decision:
    """Screen a credit (`operation="credit"`), withdrawal (`"withdraw"`) or transfer (`"transfer"`,
    `wallet_id` being the source) before any money moves."""
    wallet = Wallet.objects.filter(pk=wallet_id).values("status").first()
    if wallet is None:
        return Decision(DECLINE, "wallet_not_found", ("the wallet does not exist",))
    if wallet["status"] == Wallet.Status.CLOSED:
        return Decision(DECLINE, "wallet_closed", ("the wallet is closed",))
    if operation in OUTFLOWS:
        if wallet["status"] == Wallet.Status.FROZEN:
            return Decision(DECLINE, "wallet_frozen", ("the wallet is frozen",))
        limit = settings.WALLET_DEFAULT_LIMIT
        spent = outflow_24h(wallet_id=wallet_id, currency=currency)
        if spent + amount > limit:
            return Decision(
                DECLINE,
                "velocity_limit_exceeded",
                (f"24 h outflow would be {spent + amount}, above the limit {limit}",),
            )
    return Decision(APPROVE)
