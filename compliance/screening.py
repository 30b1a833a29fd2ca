"""Screening: the one question the sagas ask compliance before money moves.

`screen()` answers approve, review (a soft decline: a human decides) or decline, with a stable code,
the reasons and the risk score. The checks, in order (the first that refuses decides):

1. the wallet exists and is not closed; money may not leave a frozen wallet (`wallet_frozen`);
2. KYC gate (`kyc_required`, `kyc_rejected`): a withdrawal needs a VERIFIED profile of the wallet's
   owner; without one, a credit or a transfer is bounded by `settings.KYC_UNVERIFIED_LIMITS`;
   a REJECTED owner may do nothing;
3. velocity (`velocity_limit_exceeded`): withdrawals and transfers against the trailing 24 h outflow
   (`compliance.velocity`);
4. risk score (`compliance.risk`): RISK_REVIEW_SCORE → review (`risk_review`), RISK_DECLINE_SCORE →
   decline (`risk_declined`), RISK_FREEZE_SCORE → decline (`risk_critical`).

Every answer is stored as a `RiskAssessment`. A saga that asks again (a retried step) gets the
answer it got the first time. A decline whose code is in COMPLIANCE_AUTO_FREEZE_CODES freezes the
wallet through `wallets.services.wallet_freeze`, the reason recorded on the WalletFrozen event and in
the audit log. Call `screen()` outside any transaction: it may call the remote risk service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from wallets.errors import LedgerError
from wallets.models import Wallet

from . import risk, velocity
from .models import AuditEntry, KycProfile, RiskAssessment

APPROVE, REVIEW, DECLINE = "approve", "review", "decline"
OUTFLOWS = ("withdraw", "transfer")
OPERATIONS = ("credit", "withdraw", "transfer")
AUTO_FREEZE_ACTOR = "compliance:auto"


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
    """Money committed to leave the wallet in the trailing 24 hours (see `compliance.velocity`)."""
    return velocity.outflow_24h(wallet_id=wallet_id, currency=currency)


def _kyc_gate(operation: str, wallet: Wallet, amount: int) -> Decision | None:
    status = (
        KycProfile.objects.filter(owner_id=wallet.owner_id).values_list("status", flat=True).first()
        or KycProfile.Status.UNVERIFIED
    )
    if status == KycProfile.Status.VERIFIED:
        return None
    if status == KycProfile.Status.REJECTED:
        return Decision(DECLINE, "kyc_rejected", ("the owner's KYC/KYB profile was rejected",))
    if operation == "withdraw":
        return Decision(DECLINE, "kyc_required", ("withdrawals need a verified KYC/KYB profile",))
    bound = settings.KYC_UNVERIFIED_LIMITS.get(operation)
    if bound is not None and amount > bound:
        return Decision(
            DECLINE,
            "kyc_required",
            (f"{operation} of {amount} is above {bound}, the most an owner without verified KYC/KYB may move",),
        )
    return None


def _velocity(wallet_id: uuid.UUID, amount: int, currency: str) -> Decision | None:
    limit = velocity.limit_for(wallet_id=wallet_id)
    spent = velocity.outflow_24h(wallet_id=wallet_id, currency=currency)
    if spent + amount > limit:
        return Decision(
            DECLINE,
            "velocity_limit_exceeded",
            (f"24 h outflow would be {spent + amount} {currency}, above the limit {limit}",),
        )
    return None


def _risk_decision(score: risk.Score) -> Decision:
    if score.score >= settings.RISK_FREEZE_SCORE:
        return Decision(DECLINE, "risk_critical", score.reasons, score.score)
    if score.score >= settings.RISK_DECLINE_SCORE:
        return Decision(DECLINE, "risk_declined", score.reasons, score.score)
    if score.score >= settings.RISK_REVIEW_SCORE:
        return Decision(REVIEW, "risk_review", score.reasons, score.score)
    return Decision(APPROVE, None, score.reasons, score.score)


def _auto_freeze(wallet: Wallet, decision: Decision) -> None:
    if decision.code not in settings.COMPLIANCE_AUTO_FREEZE_CODES or wallet.status != Wallet.Status.ACTIVE:
        return
    from wallets.services import wallet_freeze

    reason = f"automatic freeze on {decision.code}: " + "; ".join(decision.reasons)
    try:
        wallet_freeze(wallet_id=wallet.id, actor=AUTO_FREEZE_ACTOR, reason=reason[:1000])
    except LedgerError:
        return  # frozen or closed meanwhile: nothing to do
    AuditEntry.objects.create(
        actor=None,
        actor_label=AUTO_FREEZE_ACTOR,
        action="wallet_auto_freeze",
        object_type="wallet",
        object_id=str(wallet.id),
        reason=reason,
        data={"code": decision.code, "score": decision.score},
    )


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
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
    if saga_id is not None:
        earlier = (
            RiskAssessment.objects.filter(saga_id=saga_id, operation=operation, wallet_id=wallet_id)
            .order_by("created_at")
            .first()
        )
        if earlier is not None:
            return Decision(earlier.outcome, earlier.code or None, tuple(earlier.reasons), earlier.score)

    wallet = Wallet.objects.filter(pk=wallet_id).only("id", "owner_id", "status", "created_at").first()
    if wallet is None:
        return Decision(DECLINE, "wallet_not_found", ("the wallet does not exist",))

    decision: Decision | None = None
    source = "gate"
    if wallet.status == Wallet.Status.CLOSED:
        decision = Decision(DECLINE, "wallet_closed", ("the wallet is closed",))
    elif operation in OUTFLOWS and wallet.status == Wallet.Status.FROZEN:
        decision = Decision(DECLINE, "wallet_frozen", ("the wallet is frozen",))
    decision = decision or _kyc_gate(operation, wallet, amount)
    if decision is None and operation in OUTFLOWS:
        decision = _velocity(wallet_id, amount, currency)
    if decision is None:
        subject = risk.Subject(
            operation=operation,
            wallet=wallet,
            amount=amount,
            currency=currency,
            counterparty_wallet_id=counterparty_wallet_id,
            saga_id=saga_id,
            now=timezone.now(),
        )
        score = risk.assess(subject)
        source = score.source
        decision = _risk_decision(score)

    RiskAssessment.objects.create(
        operation=operation,
        wallet_id=wallet_id,
        owner_id=wallet.owner_id,
        counterparty_wallet_id=counterparty_wallet_id,
        saga_id=saga_id,
        amount=amount,
        currency=currency,
        outcome=decision.outcome,
        code=decision.code or "",
        score=decision.score,
        source=source,
        reasons=list(decision.reasons),
    )
    if decision.outcome == DECLINE:
        _auto_freeze(wallet, decision)
    return decision
