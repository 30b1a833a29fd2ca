"""Fixtures shared by every app's tests."""

import os
import uuid
from pathlib import Path

import pytest

# Bearer tokens and API clients for the API tests of every app.
pytest_plugins = ["crowdpay.tests.fixtures"]


@pytest.fixture
def owner_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def funded_wallet(db):
    """A USER wallet holding 1,000.00 USD."""
    from wallets.tests.factories import funded

    return funded(amount=1000_00)


@pytest.fixture(autouse=True)
def verified_owners(request):
    """Every wallet opened in a test outside compliance/ belongs to a KYC-verified owner: the KYC gate
    (withdrawals need a verified profile, unverified amounts are bounded) is tested in compliance/,
    every other app's own paths elsewhere. A real profile row, so a worker process sees it too."""
    if request.node.path.is_relative_to(Path(__file__).parent / "compliance"):
        yield
        return
    from django.db.models.signals import post_save

    from compliance.models import KycProfile
    from wallets.models import Wallet

    def verify(sender, instance, created, **kwargs):
        if created:
            KycProfile.objects.get_or_create(
                owner_id=instance.owner_id, defaults={"status": KycProfile.Status.VERIFIED}
            )

    post_save.connect(verify, sender=Wallet, dispatch_uid="sagas-tests-verified-owners")
    yield
    post_save.disconnect(sender=Wallet, dispatch_uid="sagas-tests-verified-owners")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # In CI a skipped test hides a missing service or install step: treat it as a failure.
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") and skipped:
        terminalreporter.write_line(f"CI: {len(skipped)} test(s) were skipped; every test must run in CI", red=True)
        config._ci_skipped = True


def pytest_sessionfinish(session, exitstatus):
    if getattr(session.config, "_ci_skipped", False) and exitstatus == 0:
        session.exitstatus = 1
