"""Compliance writes: KYC/KYB profiles, review cases, wallet limits, officer actions on wallets,
and the audit entry each officer action leaves.

Every officer action takes the officer (a `User`) and a reason, runs in one transaction with its
audit entry, and goes through the same FSM transitions and ledger services as any other caller.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from crowdpay.errors import require_reason
from wallets import services as ledger_services
from wallets.models import Wallet

from .errors import ComplianceError, ComplianceErrorCode
from .models import AuditEntry, KycProfile, ReviewCase, RiskAssessment, WalletLimit


def officer_label(officer: Any) -> str:
    return f"officer:{officer.get_username()}"


def audit_record(
    *, officer: Any, action: str, object_type: str, object_id: object, reason: str = "", data: dict | None = None
) -> AuditEntry:
    """Append one entry to the audit log (the log is append-only)."""
    return AuditEntry.objects.create(
        actor=officer,
        actor_label=officer_label(officer),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        data=data or {},
    )


# --- KYC/KYB --------------------------------------------------------------------------------------


def kyc_profile_submit(
    *,
    owner_id: uuid.UUID,
    kind: str = KycProfile.Kind.PERSON,
    country: str = "",
    legal_name: str = "",
    date_of_birth: str = "",
    document_number: str = "",
    address: str = "",
) -> KycProfile:
    """Create or update an owner's profile with the data they submitted, and put it in PENDING."""
    with transaction.atomic():
        profile = KycProfile.objects.select_for_update().filter(owner_id=owner_id).first()
        if profile is None:
            profile = KycProfile(owner_id=owner_id)
        if not can_proceed(profile.submit):
            raise ComplianceError(
                f"a {profile.status.lower()} profile cannot be resubmitted", code=ComplianceErrorCode.INVALID_TRANSITION
            )
        profile.kind, profile.country = kind, country.upper()
        profile.legal_name, profile.date_of_birth = legal_name, date_of_birth
        profile.document_number, profile.address = document_number, address
        profile.submit()
        profile.submitted_at = timezone.now()
        profile.save()
    return profile


def _kyc_decide(*, profile_id: uuid.UUID, officer: Any, reason: str, verify: bool) -> KycProfile:
    reason = require_reason(reason)
    with transaction.atomic():
        profile = KycProfile.objects.select_for_update().filter(pk=profile_id).first()
        if profile is None:
            raise ComplianceError(f"profile {profile_id} does not exist", code=ComplianceErrorCode.PROFILE_NOT_FOUND)
        move = profile.verify if verify else profile.reject
        if not can_proceed(move):
            raise ComplianceError(
                f"a {profile.status.lower()} profile cannot be {'verified' if verify else 'rejected'}",
                code=ComplianceErrorCode.INVALID_TRANSITION,
            )
        move()
        profile.decided_at, profile.decided_by, profile.decision_reason = timezone.now(), officer, reason
        profile.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            officer=officer,
            action="kyc_verify" if verify else "kyc_reject",
            object_type="kyc_profile",
            object_id=profile.pk,
            reason=reason,
            data={"owner_id": str(profile.owner_id)},
        )
    return profile


def kyc_profile_verify(*, profile_id: uuid.UUID, officer: Any, reason: str) -> KycProfile:
    return _kyc_decide(profile_id=profile_id, officer=officer, reason=reason, verify=True)


def kyc_profile_reject(*, profile_id: uuid.UUID, officer: Any, reason: str) -> KycProfile:
    return _kyc_decide(profile_id=profile_id, officer=officer, reason=reason, verify=False)


def pii_view_record(*, profile: KycProfile, officer: Any) -> AuditEntry:
    """Audit that an officer saw a profile's personal data unmasked."""
    return audit_record(
        officer=officer,
        action="pii_view",
        object_type="kyc_profile",
        object_id=profile.pk,
        data={"owner_id": str(profile.owner_id), "fields": list(KycProfile.PII_FIELDS)},
    )


# --- review cases ---------------------------------------------------------------------------------


def review_case_open(
    *, saga_id: uuid.UUID, wallet_id: uuid.UUID, code: str | None, reasons: tuple[str, ...]
) -> ReviewCase:
    """Open the review case of a soft-declined saga (once: a second call returns the same case)."""
    owner_id = Wallet.objects.filter(pk=wallet_id).values_list("owner_id", flat=True).first()
    case, _ = ReviewCase.objects.get_or_create(
        saga_id=saga_id,
        defaults={"wallet_id": wallet_id, "owner_id": owner_id, "code": code or "", "reasons": list(reasons)},
    )
    return case


def review_cases_open_missing(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Open the case of any saga that has waited in review for `older_than` without one. A saga opens
    its case right after committing IN_REVIEW; a process that died in between would leave it waiting
    where no officer sees it. The periodic sweep closes that gap with the screening's own answer."""
    from sagas.models import Saga

    waiting = (
        Saga.objects.filter(state=Saga.State.IN_REVIEW, updated_at__lte=timezone.now() - older_than)
        .exclude(id__in=ReviewCase.objects.values("saga_id"))
        .values_list("id", "wallet_id")
    )
    opened = 0
    for saga_id, wallet_id in waiting:
        answer = (
            RiskAssessment.objects.filter(saga_id=saga_id, outcome=RiskAssessment.Outcome.REVIEW)
            .order_by("-created_at")
            .values_list("code", "reasons")
            .first()
        )
        code, reasons = answer or ("review", ["the screening's answer was not found"])
        review_case_open(saga_id=saga_id, wallet_id=wallet_id, code=code, reasons=tuple(reasons))
        opened += 1
    return opened


def _review_case_decide(*, case_id: uuid.UUID, officer: Any, reason: str, approve: bool) -> ReviewCase:
    """Decide a case and its saga together: the case row is locked, `saga_review_decide` runs in the
    same transaction (it writes the saga's state and enqueues its task on commit), so the case and
    the saga can never disagree, and two officers cannot decide one case twice."""
    from sagas.services import saga_review_decide

    reason = require_reason(reason)
    with transaction.atomic():
        case = ReviewCase.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise ComplianceError(f"review case {case_id} does not exist", code=ComplianceErrorCode.CASE_NOT_FOUND)
        if case.status != ReviewCase.Status.OPEN:
            raise ComplianceError(
                f"review case {case_id} is already {case.status.lower()}", code=ComplianceErrorCode.CASE_DECIDED
            )
        case.approve() if approve else case.reject()
        case.decided_at, case.decided_by, case.decision_reason = timezone.now(), officer, reason
        case.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            officer=officer,
            action="review_approve" if approve else "review_reject",
            object_type="review_case",
            object_id=case.pk,
            reason=reason,
            data={"saga_id": str(case.saga_id), "wallet_id": str(case.wallet_id)},
        )
        saga_review_decide(saga_id=case.saga_id, approve=approve, actor=officer_label(officer), reason=reason)
    return case


def review_case_approve(*, case_id: uuid.UUID, officer: Any, reason: str) -> ReviewCase:
    return _review_case_decide(case_id=case_id, officer=officer, reason=reason, approve=True)


def review_case_reject(*, case_id: uuid.UUID, officer: Any, reason: str) -> ReviewCase:
    return _review_case_decide(case_id=case_id, officer=officer, reason=reason, approve=False)


# --- wallets --------------------------------------------------------------------------------------


def _wallet_action(*, action: str, wallet_id: uuid.UUID, officer: Any, reason: str) -> Wallet:
    reason = require_reason(reason)
    move = {
        "freeze": ledger_services.wallet_freeze,
        "unfreeze": ledger_services.wallet_unfreeze,
        "close": ledger_services.wallet_close,
    }[action]
    with transaction.atomic():
        wallet = move(wallet_id=wallet_id, actor=officer_label(officer), reason=reason)
        audit_record(
            officer=officer, action=f"wallet_{action}", object_type="wallet", object_id=wallet_id, reason=reason
        )
    return wallet


def wallet_freeze_by_officer(*, wallet_id: uuid.UUID, officer: Any, reason: str) -> Wallet:
    return _wallet_action(action="freeze", wallet_id=wallet_id, officer=officer, reason=reason)


def wallet_unfreeze_by_officer(*, wallet_id: uuid.UUID, officer: Any, reason: str) -> Wallet:
    return _wallet_action(action="unfreeze", wallet_id=wallet_id, officer=officer, reason=reason)


def wallet_close_by_officer(*, wallet_id: uuid.UUID, officer: Any, reason: str) -> Wallet:
    return _wallet_action(action="close", wallet_id=wallet_id, officer=officer, reason=reason)


def wallet_limit_set(*, wallet_id: uuid.UUID, daily_limit: int, officer: Any, reason: str) -> WalletLimit:
    """Set (or change) a wallet's 24 h outflow limit, overriding WALLET_DEFAULT_LIMIT."""
    reason = require_reason(reason)
    if isinstance(daily_limit, bool) or not isinstance(daily_limit, int) or daily_limit < 0:
        raise ComplianceError(
            "the limit is a non-negative integer of minor units", code=ComplianceErrorCode.INVALID_LIMIT
        )
    with transaction.atomic():
        limit, _ = WalletLimit.objects.select_for_update().get_or_create(
            wallet_id=wallet_id, defaults={"daily_limit": daily_limit, "reason": reason, "set_by": officer}
        )
        before = limit.daily_limit
        limit.daily_limit, limit.reason, limit.set_by = daily_limit, reason, officer
        limit.save()
        audit_record(
            officer=officer,
            action="wallet_limit_set",
            object_type="wallet",
            object_id=wallet_id,
            reason=reason,
            data={"daily_limit": daily_limit, "before": before},
        )
    return limit
