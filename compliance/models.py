"""Compliance tables: KYC/KYB profiles (personal data encrypted), per-wallet limits and rolling
outflow buckets, stored risk assessments, review cases for soft-declined sagas, and the officers'
append-only audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from wallets.models import Wallet

from .fields import EncryptedTextField


class KycProfile(ConcurrentTransitionMixin, models.Model):
    """Who owns wallets: a person (KYC) or a business (KYB). One per owner id. Personal data lives
    only in the encrypted fields."""

    class Kind(models.TextChoices):
        PERSON = "PERSON", "Person (KYC)"
        BUSINESS = "BUSINESS", "Business (KYB)"

    class Status(models.TextChoices):
        UNVERIFIED = "UNVERIFIED"
        PENDING = "PENDING"
        VERIFIED = "VERIFIED"
        REJECTED = "REJECTED"
        NEEDS_REVIEW = "NEEDS_REVIEW", "Needs review"

    PII_FIELDS = ("legal_name", "date_of_birth", "document_number", "address", "beneficial_owners", "email")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSON)
    status = FSMField(max_length=12, choices=Status.choices, default=Status.UNVERIFIED, protected=True)
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    legal_name = EncryptedTextField(blank=True, default="")
    date_of_birth = EncryptedTextField(blank=True, default="", help_text="persons: YYYY-MM-DD")
    document_number = EncryptedTextField(blank=True, default="", help_text="ID document or company registration")
    address = EncryptedTextField(blank=True, default="")
    beneficial_owners = EncryptedTextField(
        blank=True, default="", help_text="businesses: JSON list of {name, date_of_birth, ownership_percent}"
    )
    # Officers find an owner by name or email through the blind index (PiiSearchToken), never by
    # decrypting: the token rows are rewritten whenever these fields are saved.
    email = EncryptedTextField(blank=True, default="")
    # The check at the KYC provider (compliance.kyc_provider). The row is the check's outbox: a
    # PENDING profile whose check_sent_at is empty still has to be sent (the sweep resends it).
    check_reference = models.UUIDField(
        null=True, blank=True, unique=True, help_text="our id of the current check, sent to the provider"
    )
    check_id = models.CharField(max_length=64, blank=True, default="", help_text="the provider's id of the check")
    check_sent_at = models.DateTimeField(null=True, blank=True)
    provider_reasons = models.JSONField(default=list, blank=True, help_text="the provider's reasons for its answer")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "KYC/KYB profile"
        indexes = [
            models.Index(fields=["status", "check_sent_at"], name="kycprofile_status_sent"),
            # the back-office's profile list, latest submission first (issue 21)
            models.Index(fields=["submitted_at"], name="kycprofile_submitted_at"),
        ]
        permissions = [
            ("view_pii", "Can see unmasked personal data"),
            ("decide_kycprofile", "Can verify or reject KYC/KYB profiles"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.owner_id} ({self.status})"

    @transition(field=status, source=[Status.UNVERIFIED, Status.REJECTED], target=Status.PENDING)
    def submit(self) -> None:
        pass

    @transition(field=status, source=[Status.PENDING, Status.NEEDS_REVIEW], target=Status.VERIFIED)
    def verify(self) -> None:
        pass

    @transition(field=status, source=[Status.PENDING, Status.NEEDS_REVIEW], target=Status.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.NEEDS_REVIEW)
    def refer(self) -> None:
        """The provider could not decide: an officer will (the "KYC reviews" queue)."""


class KycReview(KycProfile):
    """The officers' queue of profiles the provider referred for manual review (a proxy)."""

    class Meta:
        proxy = True
        verbose_name = "KYC review"


class KycCallback(models.Model):
    """A provider callback that was verified and processed, by the provider's callback id: the unique
    key makes a replayed or duplicated callback a no-op."""

    callback_id = models.CharField(max_length=128, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    check_reference = models.UUIDField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16, help_text="applied, or ignored (no pending check matched)")

    def __str__(self) -> str:
        return f"callback {self.callback_id}: {self.status} ({self.outcome})"


class WalletLimit(models.Model):
    """A per-wallet override of WALLET_DEFAULT_LIMIT (the 24 h outflow limit, minor units)."""

    wallet = models.OneToOneField(Wallet, on_delete=models.PROTECT, related_name="compliance_limit")
    daily_limit = models.BigIntegerField()
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(daily_limit__gte=0), name="walletlimit_non_negative")]

    def __str__(self) -> str:
        return f"limit {self.daily_limit} for {self.wallet_id}"


class RiskAssessment(models.Model):
    """Every screening answer, with the score and the reasons behind it."""

    class Outcome(models.TextChoices):
        APPROVE = "approve"
        REVIEW = "review"
        DECLINE = "decline"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    operation = models.CharField(max_length=16)
    wallet_id = models.UUIDField()
    owner_id = models.UUIDField(null=True, blank=True)
    counterparty_wallet_id = models.UUIDField(null=True, blank=True)
    saga_id = models.UUIDField(null=True, blank=True, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    code = models.CharField(max_length=48, blank=True, default="")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, help_text="rules, remote, or rules after a remote failure")
    reasons = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["wallet_id", "created_at"]),
            models.Index(fields=["wallet_id", "counterparty_wallet_id"]),
            models.Index(fields=["outcome", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.amount} {self.currency}: {self.outcome}"


class ReviewReasonCode(models.TextChoices):
    """Why an officer approved or rejected a review case: a code from this list (reportable, the
    same words for every officer) plus the officer's own text."""

    VERIFIED_SOURCE_OF_FUNDS = "verified_source_of_funds", "Verified source of funds"
    CUSTOMER_CONFIRMED = "customer_confirmed", "Customer confirmed the operation"
    SANCTIONS_HIT = "sanctions_hit", "Sanctions hit"
    SUSPECTED_FRAUD = "suspected_fraud", "Suspected fraud"
    INSUFFICIENT_DOCUMENTS = "insufficient_documents", "Insufficient documents"
    OTHER = "other", "Other (explained in the text)"


class ReviewCase(ConcurrentTransitionMixin, models.Model):
    """A soft-declined saga waiting for an officer. Approving resumes the saga; rejecting makes it
    compensate."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        APPROVED = "APPROVED"
        REJECTED = "REJECTED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    saga_id = models.UUIDField(unique=True)
    wallet_id = models.UUIDField(db_index=True)
    owner_id = models.UUIDField(null=True, blank=True, db_index=True)
    code = models.CharField(max_length=48, blank=True, default="")
    reasons = models.JSONField(default=list)
    status = FSMField(max_length=8, choices=Status.choices, default=Status.OPEN, protected=True)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True, default="")
    # A ReviewReasonCode value (no `choices` here: the list may grow without a migration, and the
    # services validate it); empty for a case decided before codes existed.
    decision_code = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["opened_at"]
        permissions = [("decide_reviewcase", "Can approve or reject review cases")]

    def __str__(self) -> str:
        return f"case {str(self.id)[:8]} · {self.code or 'review'} ({self.status})"

    @transition(field=status, source=Status.OPEN, target=Status.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=Status.OPEN, target=Status.REJECTED)
    def reject(self) -> None:
        pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEntry(models.Model):
    """One officer action: who, what, on which object, why, when. Append-only: the model refuses
    updates and deletes, and on PostgreSQL a trigger refuses them in the database too."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=48, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        # the back-office's search by the officer who acted (exact: crowdpay.admin.ExactSearchMixin)
        indexes = [models.Index(fields=["actor_label"], name="auditentry_actor_label")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class FrozenWallet(Wallet):
    """The officers' view of frozen wallets (a proxy: same rows, own admin and permissions)."""

    class Meta:
        proxy = True
        verbose_name = "frozen wallet"
        permissions = [
            ("freeze_wallet", "Can freeze a wallet"),
            ("unfreeze_wallet", "Can unfreeze a wallet"),
            ("close_wallet", "Can close a wallet"),
        ]


class PiiSearchToken(models.Model):
    """The blind index of a profile's name and email: an HMAC-SHA256 (key derived from the PII key,
    see `compliance.blind_index`) of the normalised value, so an officer finds "Ada Lovelace" by
    "ada" or by her email while the values themselves stay encrypted. A name gives one token for
    the whole name and one per word; rows are rewritten whenever the profile's name or email is."""

    class Kind(models.TextChoices):
        NAME = "name"
        NAME_WORD = "name_word"
        EMAIL = "email"

    # no index of its own: the unique (profile, kind, digest) constraint's index serves look-ups by profile
    profile = models.ForeignKey(KycProfile, on_delete=models.CASCADE, related_name="search_tokens", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key_id = models.CharField(max_length=32, help_text="the PII key the digest was derived from")
    digest = models.CharField(max_length=64, help_text="hex HMAC-SHA256; never the value itself")

    class Meta:
        indexes = [models.Index(fields=["digest"], name="piisearchtoken_digest")]
        constraints = [
            models.UniqueConstraint(fields=["profile", "kind", "digest"], name="piisearchtoken_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} token of {self.profile_id}"


class DecisionRequest(ConcurrentTransitionMixin, models.Model):
    """Four-eyes: an officer's decision that takes effect only once a second officer approves it
    (compliance.four_eyes). The requester cannot approve their own; approving runs the action once,
    in the same transaction, and the audit log names both officers."""

    class Kind(models.TextChoices):
        APPROVE_CASE = "approve_case_above_threshold", "Approve a review case above the four-eyes amount"
        LIFT_LIMIT = "lift_velocity_limit", "Lift a wallet's velocity limit"
        UNFREEZE_FRAUD = "unfreeze_fraud_freeze", "Unfreeze a wallet frozen for fraud"
        CLOSE_WALLET = "close_wallet", "Close a wallet"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        APPROVED = "APPROVED"
        REJECTED = "REJECTED"
        EXPIRED = "EXPIRED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    target_type = models.CharField(max_length=32, help_text="review_case or wallet")
    target_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True, help_text="what the action needs, e.g. the new limit")
    reason = models.TextField(help_text="the requesting officer's reason")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    status = FSMField(max_length=8, choices=Status.choices, default=Status.PENDING, protected=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["requested_at"]
        verbose_name = "request for a second officer"
        constraints = [
            # one open request per action on an object: a second officer never approves a duplicate
            models.UniqueConstraint(
                fields=["kind", "target_id"], condition=Q(status="PENDING"), name="decisionrequest_one_pending"
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="decisionrequest_status_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_id} ({self.status})"

    @transition(field=status, source=Status.PENDING, target=Status.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.EXPIRED)
    def expire(self) -> None:
        pass
