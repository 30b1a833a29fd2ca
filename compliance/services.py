"""Compliance writes: KYC/KYB profiles, review cases, wallet limits, officer actions on wallets,
and the audit entry each officer action leaves.

Every officer action takes the officer (a `User`) and a reason, runs in one transaction with its
audit entry, and goes through the same FSM transitions and ledger services as any other caller.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from crowdpay.errors import require_reason
from wallets import services as ledger_services
from wallets.models import Wallet

from . import kyc_provider, operations
from .errors import ComplianceError, ComplianceErrorCode
from .models import AuditEntry, KycCallback, KycProfile, ReviewCase, ReviewReasonCode, RiskAssessment, WalletLimit

KYC_PROVIDER_ACTOR = "kyc-provider"


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
    beneficial_owners: list[dict] | None = None,
    email: str = "",
) -> KycProfile:
    """Create or update an owner's profile with the data they submitted and put it in PENDING: a
    first submission, or a resubmission after a rejection (anything else is `invalid_transition`).
    Each submission is a new check at the KYC provider (a new `check_reference`), sent once the
    transaction commits; the sweep resends it if that message is lost."""
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
        profile.email = email.strip()
        profile.beneficial_owners = json.dumps(beneficial_owners, sort_keys=True) if beneficial_owners else ""
        profile.submit()
        profile.submitted_at = timezone.now()
        profile.check_reference, profile.check_id, profile.check_sent_at = uuid.uuid4(), "", None
        profile.provider_reasons = []
        profile.decided_at, profile.decided_by, profile.decision_reason = None, None, ""
        profile.save()
        _kyc_check_enqueue(profile.pk)
    return profile


def _kyc_check_enqueue(profile_id: uuid.UUID) -> None:
    from .tasks import kyc_check_send

    transaction.on_commit(lambda: kyc_check_send.delay(str(profile_id)), robust=True)


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


# --- KYC checks at the provider (compliance.kyc_provider) ----------------------------------------------


def kyc_retry_delay(retries: int) -> float:
    """Seconds before the next try of a check that the provider could not take: exponential, jittered."""
    delay = min(settings.KYC_CHECK_RETRY_MAX_SECONDS, settings.KYC_CHECK_RETRY_BASE_SECONDS * 2**retries)
    return random.uniform(delay / 2, delay)  # retry jitter, not a secret  # nosec B311


def _check_request(profile: KycProfile) -> kyc_provider.CheckRequest:
    return kyc_provider.CheckRequest(
        reference=str(profile.check_reference),
        kind=profile.kind,
        country=profile.country,
        legal_name=profile.legal_name,
        date_of_birth=profile.date_of_birth,
        document_number=profile.document_number,
        address=profile.address,
        beneficial_owners=tuple(json.loads(profile.beneficial_owners or "[]")),
    )


def kyc_check_send(*, profile_id: uuid.UUID) -> KycProfile | None:
    """Send a PENDING profile's check to the provider (outside any transaction: a network call), then
    record that it went out. A provider that answers at once (the sandbox) has its answer applied by
    `kyc_check_result_apply`, as a callback's would be. Raises `GatewayUnavailable` for a retry."""
    profile = KycProfile.objects.filter(pk=profile_id).first()
    if profile is None or profile.status != KycProfile.Status.PENDING or profile.check_sent_at is not None:
        return profile
    reference = profile.check_reference
    try:
        result = kyc_provider.kyc_provider().submit(_check_request(profile))
    except kyc_provider.GatewayRejected as exc:
        # The provider refuses the data itself (a 4xx): the owner corrects it and resubmits.
        result = kyc_provider.CheckResult(
            check_id="", status=kyc_provider.REJECTED, reasons=(f"the KYC provider refused the check: {exc.detail}",)
        )
    with transaction.atomic():
        profile = KycProfile.objects.select_for_update().get(pk=profile_id)
        if profile.check_reference != reference or profile.status != KycProfile.Status.PENDING:
            return profile  # decided (a fast callback) or resubmitted meanwhile
        if profile.check_sent_at is None:
            profile.check_id, profile.check_sent_at = result.check_id, timezone.now()
            profile.save(update_fields=["check_id", "check_sent_at"])
    if result.final:
        profile, _ = kyc_check_result_apply(
            reference=reference, status=result.status, reasons=result.reasons, check_id=result.check_id, source="submit"
        )
    return profile


def kyc_check_result_apply(
    *, reference: uuid.UUID, status: str, reasons: tuple[str, ...] | list[str], check_id: str = "", source: str
) -> tuple[KycProfile | None, bool]:
    """Apply the provider's answer about check `reference` (from its callback, a poll, or the answer to
    the submission itself): the profile moves PENDING -> VERIFIED / REJECTED / NEEDS_REVIEW through its
    FSM transition, with the provider's reasons, and the audit log records it. Idempotent: an answer
    about a check that is not the profile's current one, or for a profile no longer PENDING, changes
    nothing. Returns the profile (None for an unknown check) and whether it changed."""
    moves = {
        kyc_provider.VERIFIED: "verify",
        kyc_provider.REJECTED: "reject",
        kyc_provider.NEEDS_REVIEW: "refer",
    }
    with transaction.atomic():
        profile = KycProfile.objects.select_for_update().filter(check_reference=reference).first()
        if profile is None or status not in moves or profile.status != KycProfile.Status.PENDING:
            return profile, False
        getattr(profile, moves[status])()
        now, reasons = timezone.now(), [str(r) for r in reasons]
        profile.provider_reasons = reasons
        profile.check_id = profile.check_id or check_id
        profile.check_sent_at = profile.check_sent_at or now
        if status != kyc_provider.NEEDS_REVIEW:
            profile.decided_at, profile.decided_by = now, None
            profile.decision_reason = "; ".join(reasons) or "verified by the KYC provider"
        profile.save()
        AuditEntry.objects.create(
            actor=None,
            actor_label=f"{KYC_PROVIDER_ACTOR}:{source}",
            action=f"kyc_provider_{status}",
            object_type="kyc_profile",
            object_id=str(profile.pk),
            reason="; ".join(reasons),
            data={"owner_id": str(profile.owner_id), "check_id": profile.check_id, "reference": str(reference)},
        )
    return profile, True


def kyc_callback_receive(
    *, callback_id: str, reference: uuid.UUID | None, status: str, reasons: list[str], check_id: str = ""
) -> str:
    """Process one verified provider callback, once: "applied", "ignored" (no pending check of that
    reference, e.g. one superseded by a resubmission) or "duplicate" (this callback id was processed
    before; the unique key on KycCallback decides, even for two deliveries at the same moment)."""
    try:
        with transaction.atomic():
            applied = False
            if reference is not None:
                _, applied = kyc_check_result_apply(
                    reference=reference, status=status, reasons=reasons, check_id=check_id, source="callback"
                )
            outcome = "applied" if applied else "ignored"
            KycCallback.objects.create(
                callback_id=callback_id, check_reference=reference, status=status[:16], outcome=outcome
            )
    except IntegrityError:
        return "duplicate"
    return outcome


def kyc_check_poll(*, profile_id: uuid.UUID) -> KycProfile | None:
    """Ask the provider about a PENDING profile's check whose callback is late (sent, if it never was)."""
    profile = KycProfile.objects.filter(pk=profile_id).first()
    if profile is None or profile.status != KycProfile.Status.PENDING:
        return profile
    if profile.check_sent_at is None or not profile.check_id:
        return kyc_check_send(profile_id=profile_id)
    result = kyc_provider.kyc_provider().fetch(profile.check_id)
    if result.final:
        profile, _ = kyc_check_result_apply(
            reference=profile.check_reference,
            status=result.status,
            reasons=result.reasons,
            check_id=result.check_id,
            source="poll",
        )
    return profile


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
    waiting = operations.reviewed().waiting(older_than=older_than)
    cased = set(
        ReviewCase.objects.filter(saga_id__in=[saga_id for saga_id, _ in waiting]).values_list("saga_id", flat=True)
    )
    opened = 0
    for saga_id, wallet_id in waiting:
        if saga_id in cased:
            continue
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


def _review_case_decide(
    *,
    case_id: uuid.UUID,
    officer: Any,
    reason: str,
    approve: bool,
    audit_data: dict | None = None,
    reason_code: str = "",
) -> ReviewCase:
    """Decide a case and its saga together: the case row is locked, the saga's decision (registered
    by the sagas app, `compliance.operations`) runs in the same transaction (it writes the saga's
    state and enqueues its task on commit), so the case and the saga can never disagree, and two
    officers cannot decide one case twice. `reason_code` is a `ReviewReasonCode` (the admin's
    decision form requires one; other callers may leave it out)."""
    reason = require_reason(reason)
    if reason_code and reason_code not in ReviewReasonCode.values:
        raise ComplianceError(
            f"{reason_code!r} is not a review reason code", code=ComplianceErrorCode.INVALID_REASON_CODE
        )
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
        case.decision_code = reason_code
        case.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "decision_code"])
        audit_record(
            officer=officer,
            action="review_approve" if approve else "review_reject",
            object_type="review_case",
            object_id=case.pk,
            reason=reason,
            data={
                "saga_id": str(case.saga_id),
                "wallet_id": str(case.wallet_id),
                "reason_code": reason_code,
                **(audit_data or {}),
            },
        )
        operations.reviewed().decide(saga_id=case.saga_id, approve=approve, actor=officer_label(officer), reason=reason)
    return case


def review_case_approve(
    *, case_id: uuid.UUID, officer: Any, reason: str, audit_data: dict | None = None, reason_code: str = ""
) -> ReviewCase:
    """Approve a case. Above FOUR_EYES_APPROVAL_AMOUNT the admin asks a second officer first
    (compliance.four_eyes), then calls this with both names in `audit_data`."""
    return _review_case_decide(
        case_id=case_id, officer=officer, reason=reason, approve=True, audit_data=audit_data, reason_code=reason_code
    )


def review_case_reject(*, case_id: uuid.UUID, officer: Any, reason: str, reason_code: str = "") -> ReviewCase:
    return _review_case_decide(case_id=case_id, officer=officer, reason=reason, approve=False, reason_code=reason_code)


# --- wallets --------------------------------------------------------------------------------------


FREEZE_REASON_CODES = ("fraud", "sanctions", "customer_request", "other")


def _wallet_action(
    *, action: str, wallet_id: uuid.UUID, officer: Any, reason: str, audit_data: dict | None = None
) -> Wallet:
    reason = require_reason(reason)
    move = {
        "freeze": ledger_services.wallet_freeze,
        "unfreeze": ledger_services.wallet_unfreeze,
        "close": ledger_services.wallet_close,
    }[action]
    with transaction.atomic():
        wallet = move(wallet_id=wallet_id, actor=officer_label(officer), reason=reason)
        audit_record(
            officer=officer,
            action=f"wallet_{action}",
            object_type="wallet",
            object_id=wallet_id,
            reason=reason,
            data=audit_data,
        )
    return wallet


def wallet_freeze_by_officer(*, wallet_id: uuid.UUID, officer: Any, reason_code: str, reason: str) -> Wallet:
    """Freeze with a reason code (FREEZE_REASON_CODES) in the audit entry: a freeze for fraud takes a
    second officer to lift (compliance.four_eyes)."""
    if reason_code not in FREEZE_REASON_CODES:
        raise ComplianceError(
            f"the freeze reason code is one of {', '.join(FREEZE_REASON_CODES)}",
            code=ComplianceErrorCode.INVALID_FREEZE_REASON,
        )
    return _wallet_action(
        action="freeze", wallet_id=wallet_id, officer=officer, reason=reason, audit_data={"reason_code": reason_code}
    )


def wallet_unfreeze_by_officer(
    *, wallet_id: uuid.UUID, officer: Any, reason: str, audit_data: dict | None = None
) -> Wallet:
    return _wallet_action(action="unfreeze", wallet_id=wallet_id, officer=officer, reason=reason, audit_data=audit_data)


def wallet_close_by_officer(
    *, wallet_id: uuid.UUID, officer: Any, reason: str, audit_data: dict | None = None
) -> Wallet:
    return _wallet_action(action="close", wallet_id=wallet_id, officer=officer, reason=reason, audit_data=audit_data)


def wallet_limit_set(
    *, wallet_id: uuid.UUID, daily_limit: int, officer: Any, reason: str, audit_data: dict | None = None
) -> WalletLimit:
    """Set (or change) a wallet's 24 h outflow limit, overriding WALLET_DEFAULT_LIMIT, never above
    VELOCITY_LIMIT_CEILING. The audit entry records the limit in force before (the wallet's own, or
    the default when it had none) and after. Raising it takes a second officer in the admin
    (compliance.four_eyes), which then calls this with both names in `audit_data`."""
    reason = require_reason(reason)
    if isinstance(daily_limit, bool) or not isinstance(daily_limit, int) or daily_limit < 0:
        raise ComplianceError(
            "the limit is a non-negative integer of minor units", code=ComplianceErrorCode.INVALID_LIMIT
        )
    if daily_limit > settings.VELOCITY_LIMIT_CEILING:
        raise ComplianceError(
            f"the limit is at most VELOCITY_LIMIT_CEILING ({settings.VELOCITY_LIMIT_CEILING} minor units)",
            code=ComplianceErrorCode.LIMIT_ABOVE_CEILING,
        )
    with transaction.atomic():
        limit = WalletLimit.objects.select_for_update().filter(wallet_id=wallet_id).first()
        before = limit.daily_limit if limit is not None else None
        if limit is None:  # the wallet's first limit (get_or_create settles a race to create it)
            limit, created = WalletLimit.objects.get_or_create(
                wallet_id=wallet_id, defaults={"daily_limit": daily_limit, "reason": reason, "set_by": officer}
            )
            if not created:
                limit = WalletLimit.objects.select_for_update().get(pk=limit.pk)
                before = limit.daily_limit
        limit.daily_limit, limit.reason, limit.set_by = daily_limit, reason, officer
        limit.save()
        audit_record(
            officer=officer,
            action="wallet_limit_set",
            object_type="wallet",
            object_id=wallet_id,
            reason=reason,
            data={
                "daily_limit": daily_limit,
                "before": before if before is not None else settings.WALLET_DEFAULT_LIMIT,
                "before_source": "wallet" if before is not None else "default",
                "after": daily_limit,
                **(audit_data or {}),
            },
        )
    return limit
