"""Reads of CrowdPods."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet, Sum

from wallets.models import Hold, Wallet

from . import contributions, services
from .errors import PodError, PodErrorCode
from .models import Pledge, Pod, PodContribution, PodGoal, PodMember, PodOutflow


def pod_for(
    *, pod_id: uuid.UUID, caller_id: uuid.UUID, admin: bool = False, invited: bool = False
) -> tuple[Pod, PodMember | None]:
    """The pod and the caller's membership. A non-member sees no pod (404), nor does an invitee
    unless `invited` (to accept). A POD wallet's owner finds its pod created on first use."""
    pod = Pod.objects.filter(pk=pod_id).first()
    if pod is None:
        owner = Wallet.objects.filter(pk=pod_id, kind=Wallet.Kind.POD).values_list("owner_id", flat=True).first()
        if owner is None or (owner != caller_id and not admin):
            raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
        pod = services.pod_ensure(pod_id=pod_id)
    member = PodMember.objects.filter(pod=pod, member_id=caller_id).first()
    states = (PodMember.Status.ACTIVE, PodMember.Status.INVITED) if invited else (PodMember.Status.ACTIVE,)
    if (member is None or member.status not in states) and not admin:
        raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
    return pod, member


def member_list(*, pod_id: uuid.UUID) -> QuerySet[PodMember]:
    return PodMember.objects.filter(pod_id=pod_id).order_by("created_at", "id")


def goal_list(*, pod_id: uuid.UUID) -> list[PodGoal]:
    goals = list(PodGoal.objects.filter(pod_id=pod_id).order_by("-created_at"))
    pledged = dict(
        Pledge.objects.filter(pod_id=pod_id, hold__status=Hold.Status.HELD)
        .values_list("goal_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for goal in goals:
        goal.pledged = pledged.get(goal.id, 0)
    return goals


def pledge_list(*, pod_id: uuid.UUID) -> QuerySet[Pledge]:
    return Pledge.objects.filter(pod_id=pod_id).select_related("hold").order_by("-created_at", "id")


def outflow_list(*, pod_id: uuid.UUID) -> QuerySet[PodOutflow]:
    return PodOutflow.objects.filter(pod_id=pod_id).prefetch_related("votes").order_by("-created_at", "id")


def contribution_list(*, pod_id: uuid.UUID) -> QuerySet[PodContribution]:
    """The pod's contributions, its events folded up to its head first (`contributions.catch_up`)."""
    contributions.catch_up(pod_id)
    return PodContribution.objects.filter(pod_id=pod_id).order_by("currency", "-paid_in", "wallet_id")
