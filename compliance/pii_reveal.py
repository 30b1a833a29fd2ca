"""Personal data is masked for every officer; one field of one profile is revealed on request.

An officer with `compliance.view_pii` asks to reveal a field with a reason: the audit log records
who, which field, which profile and why, and the field shows unmasked to that officer for
`PII_REVEAL_SECONDS`. What is revealed is kept server-side, in the officer's own session (the
database session store), so it is never shared with another officer or another sign-in, and it
ends with the session. Support (without `view_pii`) can never reveal.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import services
from .models import AuditEntry, KycProfile

SESSION_KEY = "compliance_pii_reveals"
PERMISSION = "compliance.view_pii"


def _key(profile_pk: object, field: str) -> str:
    return f"{profile_pk}:{field}"


def may_reveal(user: Any) -> bool:
    return bool(user.has_perm(PERMISSION))


def pii_reveal(*, request: HttpRequest, profile: KycProfile, field: str, reason: str) -> AuditEntry:
    """Audit the reveal and open the field to this officer's session for PII_REVEAL_SECONDS. The
    caller checks `may_reveal` and that `field` is one of KycProfile.PII_FIELDS."""
    entry = services.audit_record(
        officer=request.user,
        action="pii_reveal",
        object_type="kyc_profile",
        object_id=profile.pk,
        reason=reason,
        data={"owner_id": str(profile.owner_id), "field": field, "seconds": settings.PII_REVEAL_SECONDS},
    )
    now = time.time()
    reveals = {k: v for k, v in request.session.get(SESSION_KEY, {}).items() if v > now}  # drop the old
    reveals[_key(profile.pk, field)] = now + settings.PII_REVEAL_SECONDS
    request.session[SESSION_KEY] = reveals
    return entry


def revealed_fields(request: HttpRequest, profile: KycProfile | None) -> set[str]:
    """The fields of `profile` this officer revealed less than PII_REVEAL_SECONDS ago."""
    if profile is None or not may_reveal(request.user):
        return set()
    now = time.time()
    reveals = request.session.get(SESSION_KEY, {})
    return {field for field in KycProfile.PII_FIELDS if reveals.get(_key(profile.pk, field), 0) > now}
