"""The KYC status flow (django-fsm) and the officers' manual-review queue."""

from __future__ import annotations

import pytest
from django_fsm import TransitionNotAllowed

from compliance import services
from compliance.errors import ComplianceError
from compliance.models import AuditEntry, KycProfile
from compliance.tests.factories import profile

pytestmark = pytest.mark.django_db

S = KycProfile.Status


def test_the_flow(owner_id):
    made = profile(owner_id, status=S.PENDING)
    assert made.status == S.PENDING
    referred, changed = services.kyc_check_result_apply(
        reference=made.check_reference, status="needs_review", reasons=["watch-list"], source="test"
    )
    assert changed and referred.status == S.NEEDS_REVIEW and referred.decided_at is None


@pytest.mark.parametrize(
    ("start", "move", "allowed"),
    [
        (S.UNVERIFIED, "submit", True),
        (S.REJECTED, "submit", True),
        (S.PENDING, "submit", False),
        (S.NEEDS_REVIEW, "submit", False),
        (S.VERIFIED, "submit", False),
        (S.PENDING, "refer", True),
        (S.VERIFIED, "refer", False),
        (S.NEEDS_REVIEW, "verify", True),
        (S.NEEDS_REVIEW, "reject", True),
        (S.UNVERIFIED, "verify", False),
        (S.REJECTED, "verify", False),
    ],
)
def test_transitions(start, move, allowed):
    made = KycProfile(status=start)
    if allowed:
        getattr(made, move)()
    else:
        with pytest.raises(TransitionNotAllowed):
            getattr(made, move)()


def test_the_status_changes_only_through_transitions():
    with pytest.raises(AttributeError):
        KycProfile(status=S.PENDING).status = S.VERIFIED


@pytest.mark.parametrize("verify", [True, False])
def test_an_officer_decides_a_referred_profile_with_a_reason_audited(owner_id, officer, verify):
    made = profile(owner_id, status=S.NEEDS_REVIEW)
    decide = services.kyc_profile_verify if verify else services.kyc_profile_reject
    decided = decide(profile_id=made.pk, officer=officer, reason="passport checked by hand")
    assert decided.status == (S.VERIFIED if verify else S.REJECTED) and decided.decided_by == officer
    entry = AuditEntry.objects.get(action="kyc_verify" if verify else "kyc_reject")
    assert entry.actor == officer and entry.reason == "passport checked by hand"


def test_a_provider_answer_after_the_officer_decided_changes_nothing(owner_id, officer):
    made = profile(owner_id, status=S.NEEDS_REVIEW)
    services.kyc_profile_reject(profile_id=made.pk, officer=officer, reason="fake passport")
    _, changed = services.kyc_check_result_apply(
        reference=made.check_reference, status="verified", reasons=[], source="callback"
    )
    made.refresh_from_db()
    assert not changed and made.status == S.REJECTED


def test_a_resubmission_after_rejection_is_a_new_check(owner_id):
    rejected = profile(owner_id, status=S.REJECTED)
    old_reference = rejected.check_reference
    again = services.kyc_profile_submit(owner_id=owner_id, legal_name="Ada Lovelace", country="de")
    assert again.status == S.PENDING and again.check_reference != old_reference
    assert again.provider_reasons == [] and again.decided_by is None and again.check_sent_at is None
    _, changed = services.kyc_check_result_apply(reference=old_reference, status="verified", reasons=[], source="t")
    assert not changed, "an answer about the superseded check is ignored"


def test_verified_profiles_cannot_be_resubmitted(owner_id):
    profile(owner_id)
    with pytest.raises(ComplianceError) as refused:
        services.kyc_profile_submit(owner_id=owner_id, legal_name="X")
    assert refused.value.code == "invalid_transition" and refused.value.status == 409


# --- the admin queue --------------------------------------------------------------------------------


def test_the_review_queue_lists_referred_profiles_with_the_providers_reasons(client, officer, owner_id):
    referred = profile(owner_id, status=S.NEEDS_REVIEW)
    profile(owner_id.__class__(int=owner_id.int ^ 1), status=S.PENDING)
    client.force_login(officer)
    page = client.get("/admin/compliance/kycreview/")
    assert page.status_code == 200
    body = page.content.decode()
    assert str(referred.owner_id) in body and "possible watch-list match" in body
    assert "Ada Lovelace" not in body  # masked
    assert page.context["cl"].result_count == 1


def test_an_officer_verifies_from_the_queue_through_the_service(client, officer, owner_id):
    referred = profile(owner_id, status=S.NEEDS_REVIEW)
    client.force_login(officer)
    change = client.get(f"/admin/compliance/kycreview/{referred.pk}/change/")
    assert change.status_code == 200
    body = change.content.decode()
    assert "do-verify" in body and "do-reject" in body and "possible watch-list match" in body
    why = "documents match the watch-list entry's birth date: not the same person"
    done = client.post(f"/admin/compliance/kycreview/{referred.pk}/do/verify/", {"reason": why})
    assert done.status_code == 302
    referred.refresh_from_db()
    assert referred.status == S.VERIFIED and referred.decided_by == officer
    assert AuditEntry.objects.filter(action="kyc_verify", reason=why).exists()
    assert client.get("/admin/compliance/kycreview/").context["cl"].result_count == 0
