"""Request and response bodies of the CrowdPod endpoints, named as the SDK names its models."""

from __future__ import annotations

from rest_framework import serializers

from crowdpay.api.inputs import InputSerializer
from wallets.api.fields import CurrencyField
from wallets.pods.models import PodGoal, PodMember, PodOutflow, PodOutflowVote, Role

ROLES = Role.choices


class InviteRequestSerializer(InputSerializer):
    member_id = serializers.UUIDField(help_text="The invitee's user id.")
    role = serializers.ChoiceField(choices=ROLES, default=Role.MEMBER)

    class Meta:
        ref_name = "PodInviteRequest"


class RoleRequestSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=ROLES)

    class Meta:
        ref_name = "PodRoleRequest"


class EmptyRequestSerializer(InputSerializer):
    class Meta:
        ref_name = "PodEmptyRequest"


class PolicyRequestSerializer(InputSerializer):
    approval_threshold = serializers.IntegerField(
        min_value=0, help_text="Outflows above this (minor units) need approvals."
    )
    approvals_required = serializers.IntegerField(min_value=1, max_value=100, help_text="M, the quorum.")
    approver_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[Role.OWNER, Role.ADMIN, Role.MEMBER]), min_length=1
    )
    requester_approval_counts = serializers.BooleanField(default=False)
    member_allowance = serializers.IntegerField(min_value=0, default=0, help_text="Per member and 24 h, minor units.")

    class Meta:
        ref_name = "PodPolicyRequest"


class GoalRequestSerializer(InputSerializer):
    amount = serializers.IntegerField(min_value=1, help_text="Minor units.")
    currency = CurrencyField()
    deadline = serializers.DateTimeField()
    min_contributors = serializers.IntegerField(min_value=1, default=1)
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    class Meta:
        ref_name = "PodGoalRequest"


class PledgeRequestSerializer(InputSerializer):
    goal_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField(help_text="The caller's own wallet the pledge holds funds on.")
    amount = serializers.IntegerField(min_value=1, help_text="Minor units of the goal's currency.")

    class Meta:
        ref_name = "PledgeRequest"


class OutflowRequestSerializer(InputSerializer):
    to_wallet_id = serializers.UUIDField()
    amount = serializers.IntegerField(min_value=1)
    currency = CurrencyField()
    memo = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    class Meta:
        ref_name = "PodOutflowRequest"


class RejectRequestSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    class Meta:
        ref_name = "PodRejectRequest"


class PodSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="wallet_id")
    status = serializers.CharField()
    approval_threshold = serializers.IntegerField()
    approvals_required = serializers.IntegerField()
    approver_roles = serializers.ListField(child=serializers.CharField())
    requester_approval_counts = serializers.BooleanField()
    member_allowance = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Pod"


class MemberSerializer(serializers.Serializer):
    member_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=ROLES)
    status = serializers.ChoiceField(choices=PodMember.Status.choices)
    invited_by = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "PodMember"


class GoalSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    deadline = serializers.DateTimeField()
    min_contributors = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=PodGoal.Status.choices)
    pledged = serializers.IntegerField(default=0, help_text="Held pledges, minor units (open goals).")
    captured_amount = serializers.IntegerField()
    journal_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "PodGoal"


class PledgeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    goal_id = serializers.UUIDField()
    member_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    hold_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["HELD", "CAPTURED", "RELEASED"])
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Pledge"


class VoteSerializer(serializers.Serializer):
    member_id = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=PodOutflowVote.Decision.choices)
    counted = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "PodOutflowVote"


class OutflowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    requested_by = serializers.UUIDField()
    to_wallet_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    memo = serializers.CharField()
    status = serializers.ChoiceField(choices=PodOutflow.Status.choices)
    within_allowance = serializers.BooleanField()
    approvals_required = serializers.IntegerField()
    votes = VoteSerializer(many=True, source="votes.all")
    operation_id = serializers.UUIDField(source="saga_id", allow_null=True, help_text="The TransferSaga's Operation.")
    error_code = serializers.CharField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "PodOutflow"


class ContributionSerializer(serializers.Serializer):
    member_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    paid_in = serializers.IntegerField()
    refunded = serializers.IntegerField()
    net = serializers.IntegerField()

    class Meta:
        ref_name = "PodContribution"


class RefundSerializer(serializers.Serializer):
    member_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    amount = serializers.IntegerField()
    journal_id = serializers.UUIDField()

    class Meta:
        ref_name = "PodRefund"
