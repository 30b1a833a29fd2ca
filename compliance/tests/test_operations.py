"""`compliance.operations`: how compliance reaches the sagas it reviews without importing the sagas
app. The app registers them at start-up; a case decision goes through them in the case's
transaction, and a refusal there leaves the case as it was."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance import operations, services
from compliance.models import ReviewCase
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


class Recording:
    """Stands in for the sagas app: records each decision, refuses the one named `refuse`."""

    def __init__(self, refuse=None) -> None:
        self.decided: list[dict] = []
        self.refuse = refuse

    def decide(self, **kwargs):
        if kwargs["saga_id"] == self.refuse:
            raise ImproperlyConfigured("refused")
        self.decided.append(kwargs)

    def waiting(self, *, older_than):
        return []

    def recent(self, *, wallet_id, limit):
        return []

    def amount(self, saga_id):
        return None

    def ids_by_reference(self, text, *, limit):
        return []


@pytest.fixture
def registered():
    real = operations.reviewed()
    yield
    operations.register(real)


def open_case(wallet) -> ReviewCase:
    return services.review_case_open(saga_id=uuid.uuid4(), wallet_id=wallet.id, code="risk_review", reasons=("r",))


def test_the_sagas_app_registers_its_operations_at_start_up():
    assert type(operations.reviewed()).__module__ == "sagas.review"


def test_a_case_decision_goes_through_the_registered_operations(registered, officer):
    wallet = WalletFactory()
    case = open_case(wallet)
    recording = Recording()
    operations.register(recording)
    services.review_case_reject(case_id=case.id, officer=officer, reason="fraud pattern")
    assert recording.decided == [
        {"saga_id": case.saga_id, "approve": False, "actor": f"officer:{officer.username}", "reason": "fraud pattern"}
    ]
    assert ReviewCase.objects.get(pk=case.pk).status == ReviewCase.Status.REJECTED


def test_a_decision_the_operation_refuses_leaves_the_case_open(registered, officer):
    wallet = WalletFactory()
    case = open_case(wallet)
    operations.register(Recording(refuse=case.saga_id))
    with pytest.raises(ImproperlyConfigured):
        services.review_case_reject(case_id=case.id, officer=officer, reason="fraud pattern")
    assert ReviewCase.objects.get(pk=case.pk).status == ReviewCase.Status.OPEN  # one transaction
