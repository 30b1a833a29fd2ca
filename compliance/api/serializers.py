"""Request and response bodies of the KYC/KYB endpoints. Input serializers refuse unknown fields
(`crowdpay.api.inputs`); responses mask personal data (`compliance.crypto.mask`)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from rest_framework import serializers

from compliance import crypto
from compliance.models import KycProfile
from crowdpay.api.inputs import InputSerializer

# The ownership share from which a beneficial owner must be declared (FATF, EU AMLD).
BENEFICIAL_OWNER_THRESHOLD = Decimal(25)


class CountryField(serializers.RegexField):
    """An ISO 3166-1 alpha-2 country code, upper-cased."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 country code (DE, US, …).")
        super().__init__(r"^[A-Za-z]{2}$", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


def _date_of_birth(value: datetime.date) -> str:
    today = datetime.date.today()
    if value >= today or value.year < 1900:
        raise serializers.ValidationError("a date of birth is in the past, after 1900")
    return value.isoformat()


class PersonSubmissionSerializer(InputSerializer):
    legal_name = serializers.CharField(max_length=200, help_text="Full legal name; the last word is the family name.")
    date_of_birth = serializers.DateField(help_text="YYYY-MM-DD.")
    address = serializers.CharField(max_length=500)
    country = CountryField()
    document_reference = serializers.CharField(
        max_length=100, help_text="The identity document's number or the provider's document token."
    )
    email = serializers.EmailField(
        max_length=254,
        required=False,
        help_text="Contact email (optional): stored encrypted; officers find it through a blind index.",
    )

    class Meta:
        ref_name = "PersonSubmission"

    def validate_date_of_birth(self, value: datetime.date) -> str:
        return _date_of_birth(value)


class BeneficialOwnerSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField(help_text="YYYY-MM-DD.")
    ownership_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal(100)
    )

    class Meta:
        ref_name = "BeneficialOwner"

    def validate_date_of_birth(self, value: datetime.date) -> str:
        return _date_of_birth(value)


class BusinessSubmissionSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, help_text="The registered company name.")
    registration_number = serializers.CharField(max_length=100)
    country = CountryField()
    address = serializers.CharField(max_length=500)
    # stubs lack ListSerializer's max_length/min_length, which DRF takes with many=True
    beneficial_owners = BeneficialOwnerSerializer(  # type: ignore[call-arg]  # max_length: see above
        many=True,
        allow_empty=False,
        max_length=20,
        help_text="Every natural person owning 25 % or more (others may be listed too).",
    )

    class Meta:
        ref_name = "BusinessSubmission"

    def validate_beneficial_owners(self, owners: list[dict]) -> list[dict]:
        total = sum((o["ownership_percent"] for o in owners), Decimal(0))
        if total > 100:
            raise serializers.ValidationError(f"the ownership adds up to {total} %, above 100 %")
        if 100 - total >= BENEFICIAL_OWNER_THRESHOLD:
            raise serializers.ValidationError(
                f"{100 - total} % of the ownership is not declared: every owner of "
                f"{BENEFICIAL_OWNER_THRESHOLD} % or more must be listed"
            )
        return [{**o, "ownership_percent": str(o["ownership_percent"])} for o in owners]


PERSON_FIELDS = ("legal_name", "date_of_birth", "address", "country", "document_reference")
BUSINESS_FIELDS = ("name", "registration_number", "country", "address", "beneficial_owners")


class MaskedBeneficialOwnerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Masked.")
    date_of_birth = serializers.CharField(help_text="Masked.")
    ownership_percent = serializers.CharField()

    class Meta:
        ref_name = "MaskedBeneficialOwner"


class KycStatusSerializer(serializers.Serializer):
    """The caller's KYC/KYB profile as the API shows it: personal data masked."""

    status = serializers.ChoiceField(choices=KycProfile.Status.choices)
    kind = serializers.ChoiceField(choices=KycProfile.Kind.choices, allow_null=True)
    next_step = serializers.ChoiceField(
        choices=[("submit", "submit"), ("resubmit", "resubmit"), ("wait", "wait"), ("none", "none")],
        help_text="submit (nothing yet), resubmit (rejected), wait (pending or in review), none (verified).",
    )
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Request fields the profile still lacks for its kind."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why the profile was rejected or referred for review."
    )
    country = serializers.CharField(allow_blank=True)
    legal_name = serializers.CharField(allow_blank=True, help_text="Masked (a business: its name).")
    date_of_birth = serializers.CharField(allow_blank=True, help_text="Masked.")
    address = serializers.CharField(allow_blank=True, help_text="Masked.")
    document_reference = serializers.CharField(
        allow_blank=True, help_text="Masked (a business: its registration number)."
    )
    beneficial_owners = MaskedBeneficialOwnerSerializer(many=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "KycStatus"


_NEXT_STEP = {
    KycProfile.Status.UNVERIFIED: "submit",
    KycProfile.Status.REJECTED: "resubmit",
    KycProfile.Status.PENDING: "wait",
    KycProfile.Status.NEEDS_REVIEW: "wait",
    KycProfile.Status.VERIFIED: "none",
}


def kyc_status_body(profile: KycProfile | None) -> dict:
    """The KycStatus document of a profile (None: the owner never submitted one)."""
    if profile is None:
        profile = KycProfile(status=KycProfile.Status.UNVERIFIED, kind="")
    owners = json.loads(profile.beneficial_owners or "[]")
    business = profile.kind == KycProfile.Kind.BUSINESS
    values = {
        "legal_name": profile.legal_name,
        "name": profile.legal_name,
        "date_of_birth": profile.date_of_birth,
        "address": profile.address,
        "country": profile.country,
        "document_reference": profile.document_number,
        "registration_number": profile.document_number,
        "beneficial_owners": owners,
    }
    fields = BUSINESS_FIELDS if business else PERSON_FIELDS
    reasons = []
    if profile.status in (KycProfile.Status.REJECTED, KycProfile.Status.NEEDS_REVIEW):
        reasons = list(profile.provider_reasons) or [r for r in [profile.decision_reason] if r]
    return {
        "status": profile.status,
        "kind": profile.kind or None,
        "next_step": _NEXT_STEP[profile.status],
        "missing": [name for name in fields if not values[name]],
        "reasons": reasons,
        "country": profile.country,
        "legal_name": crypto.mask(profile.legal_name),
        "date_of_birth": crypto.mask(profile.date_of_birth),
        "address": crypto.mask(profile.address),
        "document_reference": crypto.mask(profile.document_number),
        "beneficial_owners": [
            {
                "name": crypto.mask(o.get("name", "")),
                "date_of_birth": crypto.mask(o.get("date_of_birth", "")),
                "ownership_percent": o.get("ownership_percent", ""),
            }
            for o in owners
        ],
        "submitted_at": profile.submitted_at,
        "decided_at": profile.decided_at,
    }


class KycCallbackSerializer(serializers.Serializer):
    """The body of the provider's callback (signed; see compliance.webhooks)."""

    reference = serializers.UUIDField(help_text="Our reference of the check, as sent with it.")
    id = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="The provider's check id.")
    status = serializers.ChoiceField(choices=["pending", "verified", "rejected", "needs_review"])
    reasons = serializers.ListField(child=serializers.CharField(max_length=500), required=False, max_length=20)

    class Meta:
        ref_name = "KycCallback"


class KycCallbackReceiptSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=["applied", "ignored", "duplicate"])

    class Meta:
        ref_name = "KycCallbackReceipt"
