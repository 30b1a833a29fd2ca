"""The CrowdPod page of the back office: members, goal progress, pledges, pending approvals and
contributions, read-only (officers change nothing here; every write goes through the services)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Sum
from django.utils.html import format_html_join

from crowdpay.admin import ReadOnlyAdmin, ReadOnlyInline
from wallets.models import Hold

from .models import Pledge, Pod, PodContribution, PodGoal, PodMember, PodOutflow


class MemberInline(ReadOnlyInline):
    model = PodMember
    fields = ["member_id", "role", "status", "invited_by", "created_at"]


class GoalInline(ReadOnlyInline):
    model = PodGoal
    fields = ["title", "amount", "currency", "deadline", "min_contributors", "status", "captured_amount", "decided_at"]


class PledgeInline(ReadOnlyInline):
    model = Pledge
    fields = ["goal", "member_id", "wallet_id", "amount", "currency", "hold_status", "created_at"]

    @admin.display(description="status")
    def hold_status(self, obj: Pledge) -> str:
        return obj.hold.status

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("hold", "goal")


class OutflowInline(ReadOnlyInline):
    model = PodOutflow
    fields = ["requested_by", "to_wallet_id", "amount", "currency", "status", "approvals", "saga_id", "expires_at"]

    @admin.display(description="approvals")
    def approvals(self, obj: PodOutflow) -> str:
        counted = obj.votes.filter(decision="APPROVE", counted=True).count()
        return f"{counted} of {obj.approvals_required}"


@admin.register(Pod)
class PodAdmin(ReadOnlyAdmin):
    list_display = ["wallet_id", "status", "members", "goal_progress", "pending_approvals", "created_at"]
    list_filter = ["status"]
    search_fields = ["wallet__id"]
    fields = (
        "wallet",
        "status",
        "approval_threshold",
        "approvals_required",
        "approver_roles",
        "requester_approval_counts",
        "member_allowance",
        "goal_progress",
        "contributions",
        "created_at",
    )
    readonly_fields = fields
    inlines = [MemberInline, GoalInline, PledgeInline, OutflowInline]

    @admin.display(description="members")
    def members(self, obj: Pod) -> int:
        return obj.members.filter(status=PodMember.Status.ACTIVE).count()

    @admin.display(description="open goal")
    def goal_progress(self, obj: Pod) -> str:
        goal = obj.goals.filter(status=PodGoal.Status.OPEN).first()
        if goal is None:
            return "—"
        pledged = goal.pledges.filter(hold__status=Hold.Status.HELD).aggregate(t=Sum("amount"))["t"] or 0
        return f"{pledged} of {goal.amount} {goal.currency} pledged, deadline {goal.deadline:%Y-%m-%d %H:%M}"

    @admin.display(description="pending approvals")
    def pending_approvals(self, obj: Pod) -> int:
        return obj.outflows.filter(status=PodOutflow.Status.PENDING).count()

    @admin.display(description="contributions (paid in / refunded / net)")
    def contributions(self, obj: Pod) -> str:
        rows = PodContribution.objects.filter(pod_id=obj.wallet_id).order_by("currency", "-paid_in")
        return (
            format_html_join(
                "",
                "<div>{} {}: {} / {} / {}</div>",
                ((r.member_id, r.currency, r.paid_in, r.refunded, r.net) for r in rows),
            )
            or "—"
        )
