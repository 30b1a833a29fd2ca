"""Four-eyes: the officer decisions that take effect only once a second officer approves them.

Approving a review case above `FOUR_EYES_APPROVAL_AMOUNT`, lifting a wallet's velocity limit,
unfreezing a wallet frozen for fraud and closing a wallet: the first officer's action becomes a
`DecisionRequest` (PENDING); a different officer with the action's permission approves it, and the
action then runs once, in the same transaction as the approval, through the same service as any
other caller, its audit entry naming both officers. The requester can never approve their own
request. A request not decided within `FOUR_EYES_REQUEST_TTL_SECONDS` expires (nothing done).

The `*_or_request` functions are what the admin calls: each either acts at once (below the rule)
or files the request. Lock order: the request row, then the action's own rows (case, wallet, limit);
filing a request locks nothing (the one-pending-request-per-action rule is a unique constraint).

The amount rule compares a case's amount converted into `VELOCITY_BASE_CURRENCY` (USD by default)
with the FX table (`wallets.fx.rate_source(local=True)`: the admin's rates; no network call). For a
currency with no rate to the base currency in the table, the rule compares per currency: the
amount's own minor units against the same number (a case without a saga always takes two).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crowdpay.errors import DomainError, require_reason
from crowdpay.gateways import GatewayRejected
from wallets.fx import convert, rate_source
from wallets.models import Wallet

from . import operations, services
from .errors import ComplianceError, ComplianceErrorCode
from .models import AuditEntry, DecisionRequest, ReviewCase, WalletLimit
from .screening import AUTO_FREEZE_ACTOR

Kind = DecisionRequest.Kind

# The permission the second officer needs (the same as the action's own).
PERMISSIONS = {
    Kind.APPROVE_CASE: "compliance.decide_reviewcase",
    Kind.LIFT_LIMIT: "compliance.change_walletlimit",
    Kind.UNFREEZE_FRAUD: "compliance.unfreeze_wallet",
    Kind.CLOSE_WALLET: "compliance.close_wallet",
}
TARGET_TYPES = {
    Kind.APPROVE_CASE: "review_case",
    Kind.LIFT_LIMIT: "wallet",
    Kind.UNFREEZE_FRAUD: "wallet",
    Kind.CLOSE_WALLET: "wallet",
}


def base_currency() -> str:
    return getattr(settings, "VELOCITY_BASE_CURRENCY", "USD")


# --- the rules ------------------------------------------------------------------------------------


def amount_in_base(*, amount: int, currency: str) -> int | None:
    """`amount` minor units of `currency` in minor units of the base currency; None without a rate."""
    base = base_currency()
    if currency == base:
        return amount
    try:
        quote = rate_source(local=True).quote(base=currency, quote=base)  # the FX table, no network call
        return convert(amount, quote).to_amount
    except (GatewayRejected, DomainError):  # no rate, or worth less than one minor unit
        return None


def case_needs_second_officer(case: ReviewCase) -> bool:
    """Whether approving the case takes a second officer: its saga's amount in the base currency (in
    its own minor units when the FX table has no rate) is above FOUR_EYES_APPROVAL_AMOUNT."""
    found = operations.reviewed().amount(case.saga_id)  # registered by the sagas app
    if found is None:
        return True
    amount, currency = found
    value = amount_in_base(amount=amount, currency=currency)
    return (amount if value is None else value) > settings.FOUR_EYES_APPROVAL_AMOUNT


def wallet_freeze_reason_code(wallet_id: uuid.UUID) -> str:
    """Why the wallet's latest freeze happened: the reason code of the officer's freeze, "fraud" for
    an automatic freeze on a critical risk, and "fraud" too when it is not known (a freeze by another
    path, or from before reason codes): lifting it then takes a second officer, the safe side."""
    entry = (
        AuditEntry.objects.filter(
            object_type="wallet", object_id=str(wallet_id), action__in=("wallet_freeze", "wallet_auto_freeze")
        )
        .order_by("-at", "-id")
        .first()
    )
    if entry is None or entry.action == "wallet_auto_freeze" or entry.actor_label == AUTO_FREEZE_ACTOR:
        return "fraud"
    return str(entry.data.get("reason_code") or "fraud")


def current_limit(wallet_id: uuid.UUID) -> int:
    own = WalletLimit.objects.filter(wallet_id=wallet_id).values_list("daily_limit", flat=True).first()
    return own if own is not None else settings.WALLET_DEFAULT_LIMIT


# --- requests -------------------------------------------------------------------------------------


def decision_request_create(
    *, kind: str, target_id: object, officer: Any, reason: str, payload: dict | None = None
) -> DecisionRequest:
    """File a request for a second officer (one pending request per action on an object)."""
    reason = require_reason(reason)
    kind = Kind(kind)
    try:
        with transaction.atomic():
            request = DecisionRequest.objects.create(
                kind=kind,
                target_type=TARGET_TYPES[kind],
                target_id=str(target_id),
                payload=payload or {},
                reason=reason,
                requested_by=officer,
                expires_at=timezone.now() + timedelta(seconds=settings.FOUR_EYES_REQUEST_TTL_SECONDS),
            )
            services.audit_record(
                officer=officer,
                action="four_eyes_request",
                object_type=request.target_type,
                object_id=target_id,
                reason=reason,
                data={"request_id": str(request.pk), "kind": kind.value, "payload": request.payload},
            )
    except IntegrityError:
        raise ComplianceError(
            f"a request to {kind.label.lower()} {target_id} already waits for a second officer",
            code=ComplianceErrorCode.REQUEST_PENDING,
        ) from None
    return request


def _execute(request: DecisionRequest, officer: Any) -> None:
    """Run the approved action as the second officer, both names in its audit entry."""
    names = {
        "four_eyes_request_id": str(request.pk),
        "requested_by": services.officer_label(request.requested_by),
        "approved_by": services.officer_label(officer),
    }
    target = uuid.UUID(request.target_id)
    if request.kind == Kind.APPROVE_CASE:
        services.review_case_approve(
            case_id=target,
            officer=officer,
            reason=request.reason,
            audit_data=names,
            reason_code=request.payload.get("reason_code", ""),
        )
    elif request.kind == Kind.LIFT_LIMIT:
        services.wallet_limit_set(
            wallet_id=target,
            daily_limit=int(request.payload["daily_limit"]),
            officer=officer,
            reason=request.reason,
            audit_data=names,
        )
    elif request.kind == Kind.UNFREEZE_FRAUD:
        services.wallet_unfreeze_by_officer(wallet_id=target, officer=officer, reason=request.reason, audit_data=names)
    else:
        services.wallet_close_by_officer(wallet_id=target, officer=officer, reason=request.reason, audit_data=names)


def _locked_pending(request_id: uuid.UUID) -> DecisionRequest:
    request = DecisionRequest.objects.select_for_update().select_related("requested_by").filter(pk=request_id).first()
    if request is None:
        raise ComplianceError(f"request {request_id} does not exist", code=ComplianceErrorCode.REQUEST_NOT_FOUND)
    if request.status != DecisionRequest.Status.PENDING:
        raise ComplianceError(
            f"request {request_id} is already {request.status.lower()}", code=ComplianceErrorCode.REQUEST_DECIDED
        )
    return request


def _expire(request: DecisionRequest) -> None:
    request.expire()
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    AuditEntry.objects.create(
        actor=None,
        actor_label="four-eyes:expiry",
        action="four_eyes_expire",
        object_type=request.target_type,
        object_id=request.target_id,
        data={"request_id": str(request.pk), "kind": request.kind},
    )


def decision_request_approve(*, request_id: uuid.UUID, officer: Any, reason: str) -> DecisionRequest:
    """Approve as the second officer: the action runs now, once (the request row is locked and must be
    PENDING). Refused for the requester, for an officer without the action's permission, and for a
    request past its time (which then expires)."""
    reason = require_reason(reason)
    expired = False
    with transaction.atomic():
        request = _locked_pending(request_id)
        if request.requested_by_id == officer.pk:
            raise ComplianceError(
                "the officer who asked cannot approve: a second officer must", code=ComplianceErrorCode.SAME_OFFICER
            )
        if not officer.has_perm(PERMISSIONS[Kind(request.kind)]):
            raise ComplianceError("this officer may not take that decision", code=ComplianceErrorCode.NOT_ALLOWED)
        if request.expires_at <= timezone.now():
            _expire(request)
            expired = True
        else:
            _execute(request, officer)
            request.approve()
            request.decided_by, request.decided_at, request.decision_reason = officer, timezone.now(), reason
            request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
            services.audit_record(
                officer=officer,
                action="four_eyes_approve",
                object_type=request.target_type,
                object_id=request.target_id,
                reason=reason,
                data={
                    "request_id": str(request.pk),
                    "kind": request.kind,
                    "requested_by": services.officer_label(request.requested_by),
                    "approved_by": services.officer_label(officer),
                    "payload": request.payload,
                },
            )
    if expired:
        raise ComplianceError(f"request {request_id} has expired", code=ComplianceErrorCode.REQUEST_EXPIRED)
    return request


def decision_request_reject(*, request_id: uuid.UUID, officer: Any, reason: str) -> DecisionRequest:
    """Turn a request down (any officer with the action's permission; the requester withdraws it so)."""
    reason = require_reason(reason)
    with transaction.atomic():
        request = _locked_pending(request_id)
        if request.requested_by_id != officer.pk and not officer.has_perm(PERMISSIONS[Kind(request.kind)]):
            raise ComplianceError("this officer may not take that decision", code=ComplianceErrorCode.NOT_ALLOWED)
        request.reject()
        request.decided_by, request.decided_at, request.decision_reason = officer, timezone.now(), reason
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        services.audit_record(
            officer=officer,
            action="four_eyes_reject",
            object_type=request.target_type,
            object_id=request.target_id,
            reason=reason,
            data={"request_id": str(request.pk), "kind": request.kind},
        )
    return request


def decision_requests_expire(*, now=None) -> int:
    """Expire the pending requests past their time (the beat job); returns how many."""
    now = now or timezone.now()
    due = list(
        DecisionRequest.objects.filter(status=DecisionRequest.Status.PENDING, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in due:
        with transaction.atomic():
            request = DecisionRequest.objects.select_for_update().filter(pk=pk).first()
            if request is not None and request.status == DecisionRequest.Status.PENDING:
                _expire(request)
    return len(due)


# --- what the admin calls -------------------------------------------------------------------------


def review_case_approve_or_request(
    *, case_id: uuid.UUID, officer: Any, reason: str, reason_code: str = ""
) -> ReviewCase | DecisionRequest:
    case = ReviewCase.objects.filter(pk=case_id).first()
    if case is not None and case.status == ReviewCase.Status.OPEN and case_needs_second_officer(case):
        return decision_request_create(
            kind=Kind.APPROVE_CASE,
            target_id=case.pk,
            officer=officer,
            reason=reason,
            payload={"reason_code": reason_code} if reason_code else None,
        )
    return services.review_case_approve(case_id=case_id, officer=officer, reason=reason, reason_code=reason_code)


def wallet_unfreeze_or_request(*, wallet_id: uuid.UUID, officer: Any, reason: str) -> Wallet | DecisionRequest:
    status = Wallet.objects.filter(pk=wallet_id).values_list("status", flat=True).first()
    if status == Wallet.Status.FROZEN and wallet_freeze_reason_code(wallet_id) == "fraud":
        return decision_request_create(kind=Kind.UNFREEZE_FRAUD, target_id=wallet_id, officer=officer, reason=reason)
    return services.wallet_unfreeze_by_officer(wallet_id=wallet_id, officer=officer, reason=reason)


def wallet_close_request(*, wallet_id: uuid.UUID, officer: Any, reason: str) -> DecisionRequest:
    """Closing a wallet always takes a second officer (it cannot be undone)."""
    if not Wallet.objects.filter(pk=wallet_id).exists():
        raise ComplianceError(f"wallet {wallet_id} does not exist", code=ComplianceErrorCode.INVALID_TRANSITION)
    return decision_request_create(kind=Kind.CLOSE_WALLET, target_id=wallet_id, officer=officer, reason=reason)


def wallet_limit_set_or_request(
    *, wallet_id: uuid.UUID, daily_limit: int, officer: Any, reason: str
) -> WalletLimit | DecisionRequest:
    """Lowering a limit (or keeping it) acts at once; raising it above the limit in force takes a
    second officer. Above VELOCITY_LIMIT_CEILING it is refused either way (checked now, and again
    by the service when the request is approved)."""
    if isinstance(daily_limit, int) and daily_limit > settings.VELOCITY_LIMIT_CEILING:
        raise ComplianceError(
            f"the limit is at most VELOCITY_LIMIT_CEILING ({settings.VELOCITY_LIMIT_CEILING} minor units)",
            code=ComplianceErrorCode.LIMIT_ABOVE_CEILING,
        )
    if isinstance(daily_limit, int) and daily_limit > current_limit(wallet_id):
        return decision_request_create(
            kind=Kind.LIFT_LIMIT,
            target_id=wallet_id,
            officer=officer,
            reason=reason,
            payload={"daily_limit": daily_limit, "before": current_limit(wallet_id)},
        )
    return services.wallet_limit_set(wallet_id=wallet_id, daily_limit=daily_limit, officer=officer, reason=reason)
