"""The built-in sandbox provider decides from its documented test values (README, SANDBOX_VALUES)."""

from __future__ import annotations

import pytest

from compliance import kyc_provider, services
from compliance.kyc_provider import CheckRequest, SandboxKycProvider
from compliance.models import KycProfile
from compliance.tests.factories import profile

pytestmark = pytest.mark.django_db


def test_the_sandbox_is_used_without_an_endpoint(settings):
    settings.KYC_SERVICE_ENDPOINT = ""
    assert isinstance(kyc_provider.kyc_provider(), SandboxKycProvider)
    settings.KYC_SERVICE_ENDPOINT = "https://kyc.example.com"
    assert isinstance(kyc_provider.kyc_provider(), kyc_provider.HttpKycProvider)


@pytest.mark.parametrize(
    ("legal_name", "status", "reason"),
    [
        ("Ada Lovelace", KycProfile.Status.VERIFIED, None),
        ("Ada Reject", KycProfile.Status.REJECTED, "sandbox: the identity document could not be verified"),
        ("ada reject", KycProfile.Status.REJECTED, "sandbox: the identity document could not be verified"),
        ("Ada Review", KycProfile.Status.NEEDS_REVIEW, "sandbox: a possible watch-list match needs a manual review"),
        ("Reject Lovelace", KycProfile.Status.VERIFIED, None),  # only the family name counts
        ("Ada Late", KycProfile.Status.PENDING, None),
    ],
)
def test_a_person_is_decided_by_the_family_name(owner_id, legal_name, status, reason, settings):
    settings.KYC_SERVICE_ENDPOINT = ""
    made = profile(owner_id, status=KycProfile.Status.PENDING, legal_name=legal_name)
    made = services.kyc_check_send(profile_id=made.pk)
    assert made.status == status
    assert made.check_id.startswith("sbx_")
    if reason:
        assert reason in made.provider_reasons and reason in (made.decision_reason or reason)


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("HRB-12345", KycProfile.Status.VERIFIED),
        ("REJECT-1", KycProfile.Status.REJECTED),
        ("review-77", KycProfile.Status.NEEDS_REVIEW),
        ("LATE-1", KycProfile.Status.PENDING),
    ],
)
def test_a_business_is_decided_by_its_registration_number(owner_id, number, status, settings):
    settings.KYC_SERVICE_ENDPOINT = ""
    made = profile(
        owner_id,
        status=KycProfile.Status.PENDING,
        kind=KycProfile.Kind.BUSINESS,
        legal_name="Engines Ltd",
        document_number=number,
    )
    assert services.kyc_check_send(profile_id=made.pk).status == status


def test_a_late_sandbox_check_is_verified_when_polled(owner_id, settings):
    settings.KYC_SERVICE_ENDPOINT = ""
    made = profile(owner_id, status=KycProfile.Status.PENDING, legal_name="Ada Late")
    services.kyc_check_send(profile_id=made.pk)
    assert services.kyc_check_poll(profile_id=made.pk).status == KycProfile.Status.VERIFIED


def test_the_sandbox_check_id_is_stable_per_reference():
    check = CheckRequest("ref-1", "PERSON", "DE", "Ada Lovelace", "1985-01-01", "X1", "Somewhere")
    sandbox = SandboxKycProvider()
    assert sandbox.submit(check).check_id == sandbox.submit(check).check_id
