"""KYC tiers (settings.KYC_TIER_LIMITS) as screening applies them."""

from __future__ import annotations

import pytest

from compliance import screening
from compliance.models import KycProfile
from compliance.tests.factories import profile
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db

TIERS = {
    "unverified": {"credit": 100_00, "transfer": 10_00, "withdraw": 0},
    "person": {"credit": 5000_00, "transfer": 2000_00, "withdraw": 500_00},
    "business": {"credit": None, "transfer": None, "withdraw": None},
}


@pytest.fixture(autouse=True)
def tiers(settings):
    settings.KYC_TIER_LIMITS = TIERS
    settings.WALLET_DEFAULT_LIMIT = 10**12  # the velocity limit out of the way


@pytest.mark.parametrize(
    ("status", "kind", "tier"),
    [
        (KycProfile.Status.UNVERIFIED, KycProfile.Kind.PERSON, "unverified"),
        (KycProfile.Status.PENDING, KycProfile.Kind.BUSINESS, "unverified"),
        (KycProfile.Status.NEEDS_REVIEW, KycProfile.Kind.PERSON, "unverified"),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.PERSON, "person"),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.BUSINESS, "business"),
    ],
)
def test_the_tier_of_a_profile(status, kind, tier):
    assert screening.kyc_tier(status, kind) == tier


@pytest.mark.parametrize(
    ("status", "kind", "operation", "amount", "code"),
    [
        (None, None, "credit", 100_00, None),
        (None, None, "credit", 100_01, "kyc_required"),
        (None, None, "transfer", 10_01, "kyc_required"),
        (None, None, "withdraw", 1, "kyc_required"),
        (KycProfile.Status.NEEDS_REVIEW, KycProfile.Kind.PERSON, "withdraw", 1, "kyc_required"),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.PERSON, "withdraw", 500_00, None),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.PERSON, "withdraw", 500_01, "kyc_required"),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.PERSON, "credit", 5000_01, "kyc_required"),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.BUSINESS, "withdraw", 900_00, None),
        (KycProfile.Status.VERIFIED, KycProfile.Kind.BUSINESS, "credit", 50_000_00, None),
        (KycProfile.Status.REJECTED, KycProfile.Kind.BUSINESS, "credit", 1, "kyc_rejected"),
    ],
)
def test_each_tier_bounds_what_its_owner_may_do(status, kind, operation, amount, code):
    wallet = funded(amount=1000_00)
    if status is not None:
        profile(wallet.owner_id, status=status, kind=kind)
    decision = screening.screen(
        operation=operation,
        wallet_id=wallet.id,
        amount=amount,
        currency="USD",
        **({"counterparty_wallet_id": WalletFactory().id} if operation == "transfer" else {}),
    )
    assert decision.code == code or (code is None and decision.code in (None, "risk_review")), decision


def test_receiving_is_always_allowed_whatever_the_tier():
    """Screening gates the source of a transfer only: an unverified (or rejected) receiver is paid."""
    sender = funded(amount=1000_00)
    profile(sender.owner_id)  # a verified person
    receiver = WalletFactory()
    profile(receiver.owner_id, status=KycProfile.Status.REJECTED)
    decision = screening.screen(
        operation="transfer", wallet_id=sender.id, amount=100_00, currency="USD", counterparty_wallet_id=receiver.id
    )
    assert decision.code != "kyc_rejected" and decision.code != "kyc_required"
