"""Screening: the one question the sagas ask compliance before money moves.

`screen()` answers approve, review (a soft decline: a human decides) or decline, with a stable code,
the reasons and the risk score. The checks, in order (the first that refuses decides):

1. the wallet exists and is not closed; money may not leave a frozen wallet (`wallet_frozen`);
2. KYC tier (`kyc_required`, `kyc_rejected`): the owner's tier (`kyc_tier`: unverified, person or
   business) bounds each operation by `settings.KYC_TIER_LIMITS` (by default an unverified owner
   may not withdraw and funds or sends up to a bound; a verified one is bounded only by velocity);
   a REJECTED owner may do nothing until a resubmission is verified;
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

import json
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone

from crowdpay.prepared import Prepared
from wallets.errors import LedgerError
from wallets.fx import to_base
from wallets.ledger import uuid_param
from wallets.models import Balance, VelocityBucket, Wallet

from . import risk, velocity
from .models import AuditEntry, KycProfile, RiskAssessment, WalletLimit

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
    return velocity.outflow_24h(wallet_id=wallet_id)


@dataclass(frozen=True)
class _Context:
    """Everything screening reads about the wallet, from one query (`_context`)."""

    owner_id: uuid.UUID
    status: str
    kyc_status: str
    kyc_kind: str
    daily_limit: int
    outflow_24h: int
    earlier_id: int | None  # the assessment this saga already got for this operation, if any
    facts: risk.Facts  # the risk rules' inputs, the amount history included


_RA = RiskAssessment._meta.db_table
_WALLETS = Wallet._meta.db_table
_CONTEXT_SQL = f"""
SELECT
  w.owner_id, w.status, w.created_at > %(young_since)s,
  (SELECT k.status FROM {KycProfile._meta.db_table} k WHERE k.owner_id = w.owner_id),
  (SELECT k.kind FROM {KycProfile._meta.db_table} k WHERE k.owner_id = w.owner_id),
  (SELECT l.daily_limit FROM {WalletLimit._meta.db_table} l WHERE l.wallet_id = w.id),
  (SELECT COALESCE(SUM(o.amount), 0) FROM {VelocityBucket._meta.db_table} o
    WHERE o.wallet_id = w.id AND o.minute > %(window_start)s AND o.minute <= %(minute)s),
  (SELECT r.id FROM {_RA} r WHERE r.saga_id = %(saga_id)s AND r.operation = %(operation)s AND r.wallet_id = w.id
    ORDER BY r.created_at LIMIT 1),
  (SELECT COUNT(*) FROM {_RA} r WHERE r.wallet_id = w.id AND r.created_at >= %(rapid_since)s),
  EXISTS (SELECT 1 FROM {_WALLETS} o WHERE o.owner_id = w.owner_id AND o.base_currency = %(currency)s)
    OR EXISTS (SELECT 1 FROM {Balance._meta.db_table} b JOIN {_WALLETS} o ON o.id = b.wallet_id
      WHERE o.owner_id = w.owner_id AND b.currency = %(currency)s),
  EXISTS (SELECT 1 FROM {_RA} r WHERE r.wallet_id = w.id AND r.counterparty_wallet_id = %(counterparty)s
    AND r.outcome = %(approve)s),
  (SELECT {{json_array}}(a.amount) FROM (SELECT r.amount FROM {_RA} r
    WHERE r.wallet_id = w.id AND r.currency = %(currency)s AND r.outcome = %(approve)s
    ORDER BY r.created_at DESC LIMIT {risk.HISTORY}) a)
FROM {_WALLETS} w WHERE w.id = %(wallet_id)s
"""
# The one word the two databases spell differently: the JSON array of the amount history. Prepared
# on PostgreSQL, where planning it cost ~1 ms of the backend's CPU each time (`crowdpay.prepared`).
_CONTEXT = {
    vendor: Prepared("screening_context", _CONTEXT_SQL.format(json_array=json_array))
    for vendor, json_array in (("postgresql", "json_agg"), ("sqlite", "json_group_array"))
}
_RA_FIELDS = tuple(f for f in RiskAssessment._meta.concrete_fields if not f.primary_key)
# Every screening stores its answer: written out, not built by the ORM's save (about 0.8 ms of CPU
# per request), on PostgreSQL and SQLite alike.
_RA_COLUMNS = ", ".join(str(f.column) for f in _RA_FIELDS)
_RA_INSERT_SQL = f"INSERT INTO {_RA} ({_RA_COLUMNS}) VALUES ({', '.join(['%s'] * len(_RA_FIELDS))})"


def _context(
    *, operation: str, wallet_id: uuid.UUID, currency: str, counterparty: uuid.UUID | None, saga_id, now
) -> _Context | None:
    """One query, one round trip, for every check below, the risk rules' amount history included
    (the wallet's last `risk.HISTORY` approved amounts in the currency, an index read also when a
    gate declines before the rules run): the same SQL on PostgreSQL and SQLite but for the name of
    the JSON array aggregate. None when the wallet does not exist."""
    ops = connection.ops
    minute = velocity.epoch_minute(now)
    params = {
        "young_since": ops.adapt_datetimefield_value(now - risk.YOUNG),
        "rapid_since": ops.adapt_datetimefield_value(now - risk.RAPID_WINDOW),
        "currency": currency,
        "window_start": minute - velocity.WINDOW_MINUTES,
        "minute": minute,
        "saga_id": uuid_param(saga_id) if saga_id is not None else None,
        "operation": operation,
        "counterparty": uuid_param(counterparty) if counterparty is not None else None,
        "approve": RiskAssessment.Outcome.APPROVE,
        "wallet_id": uuid_param(wallet_id),
    }
    with connection.cursor() as cursor:
        _CONTEXT[connection.vendor].execute(cursor, params)
        row = cursor.fetchone()
    if row is None:
        return None
    owner, status, young, kyc, kyc_kind, limit, outflow, earlier, recent, known, seen, amounts = row
    if isinstance(amounts, str):  # SQLite answers the JSON as text
        amounts = json.loads(amounts)
    return _Context(
        owner_id=owner if isinstance(owner, uuid.UUID) else uuid.UUID(owner),
        status=status,
        kyc_status=kyc or KycProfile.Status.UNVERIFIED,
        kyc_kind=kyc_kind or KycProfile.Kind.PERSON,
        daily_limit=settings.WALLET_DEFAULT_LIMIT if limit is None else limit,
        outflow_24h=max(outflow or 0, 0),
        earlier_id=earlier,
        facts=risk.Facts(
            young=bool(young),
            recent_screenings=recent,
            currency_known=bool(known),
            counterparty_seen=bool(seen),
            approved_amounts=tuple(int(amount) for amount in amounts or ()),
        ),
    )


def _record(assessment: RiskAssessment) -> None:
    """INSERT the unsaved `assessment` (`created_at` set as `save` sets it; no model signal is sent:
    nothing observes this model's saves)."""
    values = [f.get_db_prep_save(f.pre_save(assessment, add=True), connection) for f in _RA_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_RA_INSERT_SQL, values)


TIER_UNVERIFIED, TIER_PERSON, TIER_BUSINESS = "unverified", "person", "business"


def kyc_tier(status: str, kind: str) -> str:
    """The tier whose limits apply: a VERIFIED person or business; anyone else is unverified."""
    if status != KycProfile.Status.VERIFIED:
        return TIER_UNVERIFIED
    return TIER_BUSINESS if kind == KycProfile.Kind.BUSINESS else TIER_PERSON


def _kyc_gate(operation: str, status: str, kind: str, amount: int) -> Decision | None:
    if status == KycProfile.Status.REJECTED:
        return Decision(DECLINE, "kyc_rejected", ("the owner's KYC/KYB profile was rejected",))
    tier = kyc_tier(status, kind)
    bound = settings.KYC_TIER_LIMITS.get(tier, {}).get(operation)
    if bound is None or amount <= bound:
        return None
    if bound <= 0:
        reason = f"a {operation} needs a verified KYC/KYB profile"
    else:
        reason = f"{operation} of {amount} is above {bound}, the most the {tier} KYC tier may move at once"
    return Decision(DECLINE, "kyc_required", (reason,))


def _velocity(context: _Context, amount: int, currency: str) -> Decision | None:
    limit, spent = context.daily_limit, context.outflow_24h
    base = to_base(amount, currency)
    if spent + base > limit:
        return Decision(
            DECLINE,
            "velocity_limit_exceeded",
            (f"24 h outflow would be {spent + base} {settings.VELOCITY_BASE_CURRENCY}, above the limit {limit}",),
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


def _auto_freeze(wallet_id: uuid.UUID, status: str, decision: Decision) -> None:
    if decision.code not in settings.COMPLIANCE_AUTO_FREEZE_CODES or status != Wallet.Status.ACTIVE:
        return
    from wallets.services import wallet_freeze

    reason = f"automatic freeze on {decision.code}: " + "; ".join(decision.reasons)
    try:
        wallet_freeze(wallet_id=wallet_id, actor=AUTO_FREEZE_ACTOR, reason=reason[:1000])
    except LedgerError:
        return  # frozen or closed meanwhile: nothing to do
    AuditEntry.objects.create(
        actor=None,
        actor_label=AUTO_FREEZE_ACTOR,
        action="wallet_auto_freeze",
        object_type="wallet",
        object_id=str(wallet_id),
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
    now = timezone.now()
    context = _context(
        operation=operation,
        wallet_id=wallet_id,
        currency=currency,
        counterparty=counterparty_wallet_id,
        saga_id=saga_id,
        now=now,
    )
    if context is None:
        return Decision(DECLINE, "wallet_not_found", ("the wallet does not exist",))
    if context.earlier_id is not None:
        earlier = RiskAssessment.objects.get(pk=context.earlier_id)
        return Decision(earlier.outcome, earlier.code or None, tuple(earlier.reasons), earlier.score)

    decision: Decision | None = None
    source = "gate"
    if context.status == Wallet.Status.CLOSED:
        decision = Decision(DECLINE, "wallet_closed", ("the wallet is closed",))
    elif operation in OUTFLOWS and context.status == Wallet.Status.FROZEN:
        decision = Decision(DECLINE, "wallet_frozen", ("the wallet is frozen",))
    decision = decision or _kyc_gate(operation, context.kyc_status, context.kyc_kind, amount)
    if decision is None and operation in OUTFLOWS:
        decision = _velocity(context, amount, currency)
    if decision is None:
        subject = risk.Subject(
            operation=operation,
            wallet_id=wallet_id,
            owner_id=context.owner_id,
            amount=amount,
            currency=currency,
            counterparty_wallet_id=counterparty_wallet_id,
            saga_id=saga_id,
            now=now,
            facts=context.facts,
        )
        score = risk.assess(subject)
        source = score.source
        decision = _risk_decision(score)

    assessment = RiskAssessment(
        operation=operation,
        wallet_id=wallet_id,
        owner_id=context.owner_id,
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
    _record(assessment)
    if decision.outcome == DECLINE:
        _auto_freeze(wallet_id, context.status, decision)
    return decision
