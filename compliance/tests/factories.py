"""Test helpers for compliance: profiles submitted and decided through the services."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from compliance import services
from compliance.models import KycProfile

OFFICER_GROUP = "Compliance officer"


def officer_user(username: str = "olivia", *, group: bool = True, staff: bool = True):
    user = get_user_model().objects.create_user(username=username, password="pw-officer-123", is_staff=staff)
    if group:
        user.groups.add(Group.objects.get(name=OFFICER_GROUP))
    return user


def profile(owner_id: uuid.UUID, *, status: str = KycProfile.Status.VERIFIED, **data) -> KycProfile:
    """A profile of `owner_id` brought to `status` (UNVERIFIED, PENDING, VERIFIED, REJECTED)."""
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
    clerk = officer_user(f"kyc-{uuid.uuid4().hex[:8]}")
    decide = services.kyc_profile_verify if status == KycProfile.Status.VERIFIED else services.kyc_profile_reject
    return decide(profile_id=made.pk, officer=clerk, reason="documents checked")
