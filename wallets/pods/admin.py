"""The CrowdPod page of the back office: members, goal progress, pledges, pending approvals and
contributions, read-only (officers change nothing here; every write goes through the services)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.html import format_html_join

from crowdpay.admin import ExactSearchMixin, ReadOnlyAdmin, ReadOnlyInline
from crowdpay.admin_display import money_column
from wallets.currencies import format_money
from wallets.models import Hold

from .contributions import current as current_contributions
from .models import Pledge, Pod, PodGoal, PodMember, PodOutflow


class MemberInline(ReadOnlyInline):
    model = PodMember
    fields = ["member_id", "role", "status", "invited_by", "created_at"]


class GoalInline(ReadOnlyInline):
    model = PodGoal
    fields = ["title", "goal", "deadline", "min_contributors", "status", "captured", "decided_at"]
    goal = money_column("amount", "currency", "goal", ordering=False)
    captured = money_column("captured_amount", "currency", "captured", ordering=False)


class PledgeInline(ReadOnlyInline):
    model = Pledge
    fields = ["goal", "member_id", "wallet_id", "money", "hold_status", "created_at"]
    money = money_column("amount", "currency", "amount", ordering=False)

    @admin.display(description="status")
    def hold_status(self, obj: Pledge) -> str:
        return obj.hold.status

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("hold", "goal")


class OutflowInline(ReadOnlyInline):
    model = PodOutflow
    fields = ["requested_by", "to_wallet_id", "money", "status", "approvals", "saga_id", "expires_at"]
    money = money_column("amount", "currency", "amount", ordering=False)

    @admin.display(description="approvals")
    def approvals(self, obj: PodOutflow) -> str:
        counted = obj.votes.filter(decision="APPROVE", counted=True).count()
        return f"{counted} of {obj.approvals_required}"


@admin.register(Pod)
class PodAdmin(ExactSearchMixin, ReadOnlyAdmin):
    list_display = ["wallet_id", "status", "members", "goal_progress", "pending_approvals", "created_at"]
    list_filter = ["status"]
    search_fields = ["wallet__id"]
    exact_search = ("wallet_id",)
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

    def get_queryset(self, request):
        # The list's columns come with its rows: two counting subqueries and one query for the
        # page's open goals with their pledged sums, not three queries per pod.
        def count(model, **filters):
            rows = model.objects.filter(pod=OuterRef("pk"), **filters).order_by().values("pod")
            return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n")[:1]), 0)

        open_goals = PodGoal.objects.filter(status=PodGoal.Status.OPEN).annotate(
            pledged=Coalesce(Sum("pledges__amount", filter=Q(pledges__hold__status=Hold.Status.HELD)), 0)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_members=count(PodMember, status=PodMember.Status.ACTIVE),
                pending_outflows=count(PodOutflow, status=PodOutflow.Status.PENDING),
            )
            .prefetch_related(Prefetch("goals", queryset=open_goals, to_attr="open_goals"))
        )

    @admin.display(description="members")
    def members(self, obj) -> int:  # a Pod of get_queryset, annotated
        return obj.active_members

    @admin.display(description="open goal")
    def goal_progress(self, obj) -> str:
        goal = obj.open_goals[0] if obj.open_goals else None
        if goal is None:
            return "—"
        shown = f"{format_money(goal.pledged, goal.currency)} of {format_money(goal.amount, goal.currency)}"
        return f"{shown} pledged, deadline {goal.deadline:%Y-%m-%d %H:%M}"

    @admin.display(description="pending approvals")
    def pending_approvals(self, obj) -> int:
        return obj.pending_outflows

    @admin.display(description="contributions (paid in / refunded / net)")
    def contributions(self, obj: Pod) -> str:
        rows = current_contributions(obj.wallet_id)  # the rows and their pending fold, written nowhere
        return (
            format_html_join(
                "",
                "<div>{}: {} / {} / {}</div>",
                ((r.member_id, *(format_money(v, r.currency) for v in (r.paid_in, r.refunded, r.net))) for r in rows),
            )
            or "—"
        )
