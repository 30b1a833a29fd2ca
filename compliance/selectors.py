"""Reads for the compliance back-office."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from wallets.models import Event, Wallet
from wallets.projection import EventType

from . import operations
from .models import KycProfile, ReviewCase, RiskAssessment

AGE_BUCKETS = (
    ("under 1 hour", timedelta(0), timedelta(hours=1)),
    ("1 to 24 hours", timedelta(hours=1), timedelta(hours=24)),
    ("1 to 3 days", timedelta(hours=24), timedelta(days=3)),
    ("over 3 days", timedelta(days=3), None),
)


def parse_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term.strip())
    except (ValueError, AttributeError):
        return None


def last_status_events(wallet_ids: list[uuid.UUID], *, type: str = EventType.WALLET_FROZEN) -> dict[uuid.UUID, Event]:
    """The latest event of `type` per wallet (who froze it, when, why)."""
    latest: dict[uuid.UUID, Event] = {}
    for event in Event.objects.filter(wallet_id__in=wallet_ids, type=type).order_by("wallet_id", "-version"):
        latest.setdefault(event.wallet_id, event)
    return latest


def dashboard_figures(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    frozen = list(Wallet.objects.filter(status=Wallet.Status.FROZEN).order_by("-created_at")[:50])
    frozen_events = last_status_events([w.id for w in frozen])
    open_cases = ReviewCase.objects.filter(status=ReviewCase.Status.OPEN)
    ages = []
    for label, low, high in AGE_BUCKETS:
        window = Q(opened_at__lte=now - low)
        if high is not None:
            window &= Q(opened_at__gt=now - high)
        ages.append({"label": label, "count": open_cases.filter(window).count()})
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    declines = RiskAssessment.objects.filter(outcome=RiskAssessment.Outcome.DECLINE, created_at__gte=midnight)
    return {
        "frozen_count": Wallet.objects.filter(status=Wallet.Status.FROZEN).count(),
        "frozen": [{"wallet": w, "event": frozen_events.get(w.id)} for w in frozen[:10]],
        "open_count": open_cases.count(),
        "open_ages": ages,
        "oldest_cases": list(open_cases.order_by("opened_at")[:10]),
        "declines_today": declines.count(),
        "declines_by_code": list(declines.values("code").annotate(n=Count("id")).order_by("-n", "code")),
        "now": now,
    }


def recent_sagas(*, wallet_id: uuid.UUID, limit: int = 20) -> list:
    """The latest sagas the wallet took part in, as source or counterparty (read by the sagas app,
    `compliance.operations`)."""
    return operations.reviewed().recent(wallet_id=wallet_id, limit=limit)


def kyc_checks_unsent(*, limit: int = 500) -> list[uuid.UUID]:
    """PENDING profiles whose check has not gone out KYC_CHECK_RESEND_SECONDS after submission (the
    message that should have sent it was lost, or every try failed)."""
    since = timezone.now() - timedelta(seconds=settings.KYC_CHECK_RESEND_SECONDS)
    return list(
        KycProfile.objects.filter(
            status=KycProfile.Status.PENDING, check_sent_at__isnull=True, submitted_at__lte=since
        ).values_list("id", flat=True)[:limit]
    )


def kyc_checks_late(*, limit: int = 500) -> list[uuid.UUID]:
    """PENDING profiles whose check went out more than KYC_POLL_AFTER_SECONDS ago with no answer yet."""
    since = timezone.now() - timedelta(seconds=settings.KYC_POLL_AFTER_SECONDS)
    return list(
        KycProfile.objects.filter(status=KycProfile.Status.PENDING, check_sent_at__lte=since)
        .order_by("check_sent_at")
        .values_list("id", flat=True)[:limit]
    )
