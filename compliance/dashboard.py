"""The officers' dashboard: what waits for them, each figure a link to the filtered list behind it.

Open review cases by age with the ones past REVIEW_SLA_HOURS, the declines of today, the frozen
wallets by freeze reason and the requests waiting for a second officer (compliance.four_eyes).
Every figure is one COUNT over an index (cases by status and opening time, assessments by outcome
and time, requests by status and time); the frozen wallets by reason read the latest freeze audit
entry of each frozen wallet (a subquery on the audit log's object_id index), a set that stays small.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.db.models import CharField, Count, OuterRef, Subquery, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.urls import reverse
from django.utils import timezone

from wallets.models import Wallet

from . import selectors
from .models import AuditEntry, DecisionRequest, ReviewCase, RiskAssessment

UNKNOWN_REASON = "unknown"
FREEZE_ACTIONS = ("wallet_freeze", "wallet_auto_freeze")


def _url(name: str, **params: object) -> str:
    url = reverse(f"admin:{name}")
    return f"{url}?{urlencode({k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()})}"


def freeze_reason():
    """An expression: the reason code of the wallet's latest freeze (the officer's code, "auto" for
    an automatic freeze on a critical risk), or "unknown" for a freeze without one."""
    latest = AuditEntry.objects.filter(
        object_type="wallet", object_id=Cast(OuterRef("pk"), CharField()), action__in=FREEZE_ACTIONS
    ).order_by("-at", "-id")
    code = Subquery(latest.annotate(code=KT("data__reason_code")).values("code")[:1])
    action = Subquery(latest.values("action")[:1])
    # the officer's code; else "wallet_auto_freeze" when the latest freeze was automatic; else unknown
    return Coalesce(code, NullIf(action, Value("wallet_freeze")), Value(UNKNOWN_REASON), output_field=CharField())


class FreezeReasonFilter(admin.SimpleListFilter):
    """The frozen wallets list by freeze reason (the dashboard's "frozen by reason" links here)."""

    title = "freeze reason"
    parameter_name = "freeze_reason"

    def lookups(self, request, model_admin):
        from .services import FREEZE_REASON_CODES

        codes = [*FREEZE_REASON_CODES, "wallet_auto_freeze", UNKNOWN_REASON]
        return [(c, "automatic" if c == "wallet_auto_freeze" else c.replace("_", " ")) for c in codes]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.annotate(freeze_reason=freeze_reason()).filter(freeze_reason=self.value())


def figures(*, now: datetime | None = None) -> dict:
    """The tiles (each {"label", "count", "url", "alert"}) and the tables of the dashboard."""
    now = now or timezone.now()
    open_cases = ReviewCase.objects.filter(status=ReviewCase.Status.OPEN)
    cases = "compliance_reviewcase_changelist"
    ages = []
    for label, low, high in selectors.AGE_BUCKETS:
        window = {"opened_at__lte": now - low}
        if high is not None:
            window["opened_at__gt"] = now - high
        ages.append(
            {
                "label": label,
                "count": open_cases.filter(**window).count(),
                "url": _url(cases, status__exact="OPEN", **window),
            }
        )
    sla_cutoff = now - timedelta(hours=settings.REVIEW_SLA_HOURS)
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    declines = RiskAssessment.objects.filter(outcome=RiskAssessment.Outcome.DECLINE, created_at__gte=midnight)
    frozen = Wallet.objects.filter(status=Wallet.Status.FROZEN)
    by_reason = list(
        frozen.annotate(reason=freeze_reason()).values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    )
    frozen_list = "compliance_frozenwallet_changelist"
    pending = DecisionRequest.objects.filter(status=DecisionRequest.Status.PENDING)
    tiles = [
        {
            "id": "open",
            "label": "open review cases",
            "count": open_cases.count(),
            "url": _url(cases, status__exact="OPEN"),
        },
        {
            "id": "sla",
            "label": f"past the {settings.REVIEW_SLA_HOURS} h SLA",
            "count": open_cases.filter(opened_at__lte=sla_cutoff).count(),
            "url": _url(cases, status__exact="OPEN", opened_at__lte=sla_cutoff),
        },
        {
            "id": "declines",
            "label": "declines today",
            "count": declines.count(),
            "url": _url("compliance_riskassessment_changelist", outcome__exact="decline", created_at__gte=midnight),
        },
        {
            "id": "frozen",
            "label": "frozen wallets",
            "count": sum(row["n"] for row in by_reason),
            "url": reverse(f"admin:{frozen_list}"),
        },
        {
            "id": "four-eyes",
            "label": "waiting for a second officer",
            "count": pending.count(),
            "url": _url("compliance_decisionrequest_changelist", status__exact=DecisionRequest.Status.PENDING),
        },
    ]
    for tile in tiles:
        tile["alert"] = bool(tile["count"]) and tile["id"] != "declines"
    return {
        "tiles": tiles,
        "open_ages": ages,
        "sla_hours": settings.REVIEW_SLA_HOURS,
        "frozen_by_reason": [
            {"reason": row["reason"], "count": row["n"], "url": _url(frozen_list, freeze_reason=row["reason"])}
            for row in by_reason
        ],
        "declines_by_code": list(declines.values("code").annotate(n=Count("id")).order_by("-n", "code")),
        "now": now,
        # the tables the page had before (oldest cases, latest freezes)
        "oldest_cases": list(open_cases.order_by("opened_at")[:10]),
    }


def tile_counts(data: dict) -> dict[str, int]:
    return {tile["id"]: tile["count"] for tile in data["tiles"]}
