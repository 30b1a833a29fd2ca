"""Test helpers for compliance: back-office users, profiles submitted and decided through the
services, and saga rows in a given state of their FSM."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from compliance import services
from compliance.models import KycProfile
from sagas.models import Saga, SagaStep
from wallets.models import Wallet

OFFICER_GROUP = "Compliance officer"

# A support agent: reads wallets, their ledger, sagas and CrowdPods, and KYC profiles masked; decides nothing,
# sees no personal data, no review case, no frozen-wallet list, no audit log, no risk assessment.
# compliance/roles.py defines only the officers' group, so the tests give these permissions directly.
SUPPORT_PERMISSIONS = {
    "wallets": ["view_wallet", "view_balance", "view_event", "view_hold", "view_journalentry", "view_posting"],
    "sagas": ["view_saga", "view_payout", "view_fxrate"],
    "compliance": ["view_kycprofile"],
    "pods": ["view_pod", "view_podmember", "view_podgoal", "view_pledge", "view_podoutflow", "view_podcontribution"],
}


def officer_user(username: str = "olivia", *, group: bool = True, staff: bool = True):
    user = get_user_model().objects.create_user(username=username, password="pw-officer-123", is_staff=staff)
    if group:
        user.groups.add(Group.objects.get(name=OFFICER_GROUP))
    return user


def support_user(username: str = "sasha"):
    user = officer_user(username, group=False)
    for app_label, codenames in SUPPORT_PERMISSIONS.items():
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    return user


def saga_row(*, kind: str, state: str, wallet: Wallet, counterparty: Wallet | None = None, amount: int = 1_00) -> Saga:
    """A saga row in `state` with one step of its log, for pages that show sagas (no ledger effect:
    a fixture only, the FSM state given at construction; the services always create a saga STARTED
    and move it through its transitions)."""
    saga = Saga.objects.create(
        kind=kind,
        state=state,
        wallet=wallet,
        counterparty_wallet=counterparty if kind == Saga.Kind.TRANSFER else None,
        amount=amount,
        currency=wallet.base_currency,
        reference=f"row:{uuid.uuid4()}",
        requested_by="user:test",
        error_code="test_failure" if state == Saga.State.FAILED else "",
    )
    SagaStep.objects.create(saga=saga, step="start", result="accepted", detail={"state": state})
    return saga


def profile(owner_id: uuid.UUID, *, status: str = KycProfile.Status.VERIFIED, **data) -> KycProfile:
    """A profile of `owner_id` brought to `status` (UNVERIFIED, PENDING, NEEDS_REVIEW, VERIFIED, REJECTED)."""
    if status == KycProfile.Status.UNVERIFIED:
        return KycProfile.objects.create(owner_id=owner_id)
    fields = {
        "kind": KycProfile.Kind.PERSON,
        "country": "DE",
        "legal_name": "Ada Lovelace",
        "date_of_birth": "1815-12-10",
        "document_number": "X1234567",
        "address": "12 St James's Square, London",
        **data,
    }
    made = services.kyc_profile_submit(owner_id=owner_id, **fields)
    if status == KycProfile.Status.PENDING:
        return made
    if status == KycProfile.Status.NEEDS_REVIEW:  # the provider referred it to an officer
        referred, _ = services.kyc_check_result_apply(
            reference=made.check_reference, status="needs_review", reasons=("possible watch-list match",), source="test"
        )
        return referred
    clerk = officer_user(f"kyc-{uuid.uuid4().hex[:8]}")
    decide = services.kyc_profile_verify if status == KycProfile.Status.VERIFIED else services.kyc_profile_reject
    return decide(profile_id=made.pk, officer=clerk, reason="documents checked")
