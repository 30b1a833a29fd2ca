"""CrowdPod endpoints under /v1/pods/{pod_id}. Each handler validates its input first (so a bad
request writes nothing, whoever asks), then finds the pod as the caller sees it (a non-member: 404),
calls one service and renders the result. Who may do what is the services' (README table).
Scopes: `pod:read` for reads, `pod:write` for writes; `wallet:admin` sees every pod."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.idempotency import idempotent
from crowdpay.api.inputs import refuse_query, validated
from crowdpay.api.permissions import PodReadScope, PodWriteScope
from crowdpay.api.problems import CONTENT_TYPE, problem
from sagas.api.views import saga_reference
from wallets.pods import selectors, services
from wallets.pods.models import PodOutflow

from . import serializers as s

POD_ID = OpenApiParameter("pod_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The pod's wallet id.")
MEMBER_ID = OpenApiParameter("member_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The member's user id.")
GOAL_ID = OpenApiParameter("goal_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The goal id.")
OUTFLOW_ID = OpenApiParameter("outflow_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The outflow id.")


def _pod(request, pod_id, *, invited: bool = False):
    return selectors.pod_for(pod_id=pod_id, caller_id=request.user.id, admin=request.user.is_admin, invited=invited)


class PodView(APIView):
    """Reads need `pod:read`, writes `pod:write`."""

    def get_permissions(self):
        return [PodReadScope() if self.request.method == "GET" else PodWriteScope()]


def _outflow_answer(request, outflow: PodOutflow, created: bool = False) -> Response:
    """201/200 with the outflow; 422 problem+json with its code when its transfer was refused."""
    body = s.OutflowSerializer(outflow).data
    if outflow.status == PodOutflow.Status.FAILED:
        detail = f"the outflow's transfer was refused: {outflow.error_code}"
        return Response(
            problem(422, outflow.error_code or "transfer_failed", detail, instance=request.path, outflow=body,
                    operation_id=str(outflow.saga_id) if outflow.saga_id else None),
            status=422,
            content_type=CONTENT_TYPE,
        )  # fmt: skip
    return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PodDetailView(PodView):
    @extend_schema(
        operation_id="get_pod", summary="Read a CrowdPod", parameters=[POD_ID], responses={200: s.PodSerializer}
    )
    def get(self, request, pod_id):
        """The pod and its outflow policy. A POD wallet's owner finds it created on first use."""
        refuse_query(request)
        pod, _ = _pod(request, pod_id)
        return Response(s.PodSerializer(pod).data)


class MembersView(PodView):
    @extend_schema(operation_id="list_pod_members", summary="List a pod's members", parameters=[POD_ID],
                   responses={200: s.MemberSerializer(many=True)})  # fmt: skip
    def get(self, request, pod_id):
        refuse_query(request)
        _pod(request, pod_id)
        return Response(s.MemberSerializer(selectors.member_list(pod_id=pod_id), many=True).data)

    @extend_schema(operation_id="invite_pod_member", summary="Invite a member", parameters=[POD_ID],
                   request=s.InviteRequestSerializer, responses={201: s.MemberSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        """Owners invite any role; admins invite members and viewers. The invitee joins on accepting."""
        data = validated(s.InviteRequestSerializer, request.data)
        _pod(request, pod_id)
        member = services.member_invite(
            pod_id=pod_id, actor_id=request.user.id, member_id=data["member_id"], role=data["role"]
        )
        return Response(s.MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class AcceptView(PodView):
    @extend_schema(operation_id="accept_pod_invitation", summary="Accept an invitation", parameters=[POD_ID, MEMBER_ID],
                   request=s.EmptyRequestSerializer, responses={200: s.MemberSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, member_id):
        """The invitee (`member_id` is the caller) joins: PodMemberJoined."""
        validated(s.EmptyRequestSerializer, request.data)
        if member_id != request.user.id:
            raise services.PodError(
                "only the invitee accepts an invitation", code=services.PodErrorCode.FORBIDDEN_FOR_ROLE
            )
        _pod(request, pod_id, invited=True)
        return Response(s.MemberSerializer(services.member_accept(pod_id=pod_id, member_id=member_id)).data)


class RoleView(PodView):
    @extend_schema(operation_id="change_pod_member_role", summary="Change a member's role",
                   parameters=[POD_ID, MEMBER_ID], request=s.RoleRequestSerializer,
                   responses={200: s.MemberSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, member_id):
        data = validated(s.RoleRequestSerializer, request.data)
        _pod(request, pod_id)
        member = services.member_role_change(
            pod_id=pod_id, actor_id=request.user.id, member_id=member_id, role=data["role"]
        )
        return Response(s.MemberSerializer(member).data)


class RemoveView(PodView):
    @extend_schema(operation_id="remove_pod_member", summary="Remove a member (or leave)",
                   parameters=[POD_ID, MEMBER_ID], request=s.EmptyRequestSerializer,
                   responses={200: s.MemberSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, member_id):
        """Removing oneself is leaving. The last owner cannot leave while money is in the pod (`last_owner`)."""
        validated(s.EmptyRequestSerializer, request.data)
        _pod(request, pod_id)
        member = services.member_remove(pod_id=pod_id, actor_id=request.user.id, member_id=member_id)
        return Response(s.MemberSerializer(member).data)


class PolicyView(PodView):
    @extend_schema(operation_id="set_pod_policy", summary="Set the outflow policy", parameters=[POD_ID],
                   request=s.PolicyRequestSerializer, responses={200: s.PodSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        data = validated(s.PolicyRequestSerializer, request.data)
        _pod(request, pod_id)
        return Response(s.PodSerializer(services.policy_set(pod_id=pod_id, actor_id=request.user.id, **data)).data)


class GoalsView(PodView):
    @extend_schema(operation_id="list_pod_goals", summary="List a pod's goals", parameters=[POD_ID],
                   responses={200: s.GoalSerializer(many=True)})  # fmt: skip
    def get(self, request, pod_id):
        refuse_query(request)
        _pod(request, pod_id)
        return Response(s.GoalSerializer(selectors.goal_list(pod_id=pod_id), many=True).data)

    @extend_schema(operation_id="set_pod_goal", summary="Set the pod's goal", parameters=[POD_ID],
                   request=s.GoalRequestSerializer, responses={201: s.GoalSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        """Owners and admins; one open goal at a time (PodGoalSet)."""
        data = validated(s.GoalRequestSerializer, request.data)
        _pod(request, pod_id)
        goal = services.goal_set(pod_id=pod_id, actor_id=request.user.id, **data)
        return Response(s.GoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class GoalRefundView(PodView):
    @extend_schema(operation_id="refund_pod_goal", summary="Refund a reached goal", parameters=[POD_ID, GOAL_ID],
                   request=s.EmptyRequestSerializer, responses={200: s.RefundSerializer(many=True)})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, goal_id):
        """Owners: the goal's captured money goes back to its pledgers pro rata (largest remainder)."""
        validated(s.EmptyRequestSerializer, request.data)
        _pod(request, pod_id)
        if not selectors.PodGoal.objects.filter(pk=goal_id, pod_id=pod_id).exists():
            raise services.PodError(f"goal {goal_id} not found", code=services.PodErrorCode.GOAL_NOT_FOUND)
        refunds = services.goal_refund(goal_id=goal_id, actor_id=request.user.id)
        return Response(s.RefundSerializer(refunds, many=True).data)


class PledgesView(PodView):
    @extend_schema(operation_id="list_pod_pledges", summary="List a pod's pledges", parameters=[POD_ID],
                   responses={200: s.PledgeSerializer(many=True)})  # fmt: skip
    def get(self, request, pod_id):
        refuse_query(request)
        _pod(request, pod_id)
        return Response(s.PledgeSerializer(selectors.pledge_list(pod_id=pod_id), many=True).data)

    @extend_schema(operation_id="make_pledge", summary="Pledge towards the goal", parameters=[POD_ID],
                   request=s.PledgeRequestSerializer, responses={201: s.PledgeSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        """A hold on the caller's own wallet (PledgeMade there; the pod is not touched). Refused
        once the goal is reached (`goal_reached`) or its deadline passed (`goal_expired`). The
        pledge that reaches the goal starts its capture (one batch into the pod) on commit."""
        data = validated(s.PledgeRequestSerializer, request.data)
        _pod(request, pod_id)
        pledge = services.pledge_make(
            pod_id=pod_id,
            goal_id=data["goal_id"],
            member_id=request.user.id,
            wallet_id=data["wallet_id"],
            amount=data["amount"],
            reference=saga_reference(request),
        )
        return Response(s.PledgeSerializer(pledge).data, status=status.HTTP_201_CREATED)


class OutflowsView(PodView):
    @extend_schema(operation_id="list_pod_outflows", summary="List a pod's outflows", parameters=[POD_ID],
                   responses={200: s.OutflowSerializer(many=True)})  # fmt: skip
    def get(self, request, pod_id):
        refuse_query(request)
        _pod(request, pod_id)
        return Response(s.OutflowSerializer(selectors.outflow_list(pod_id=pod_id), many=True).data)

    @extend_schema(operation_id="request_pod_outflow", summary="Ask for money to leave the pod", parameters=[POD_ID],
                   request=s.OutflowRequestSerializer, responses={201: s.OutflowSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        """PodOutflowRequested. Within the threshold and the caller's 24 h allowance it runs at once
        (a TransferSaga: screening and velocity apply); otherwise it waits for approvals (PENDING).
        A transfer refused on the spot answers 422 with its code."""
        data = validated(s.OutflowRequestSerializer, request.data)
        _pod(request, pod_id)
        outflow = services.outflow_request(pod_id=pod_id, member_id=request.user.id, **data)
        return _outflow_answer(request, outflow, created=True)


def _vote(request, pod_id, outflow_id, *, approve: bool, reason: str = "") -> Response:
    _pod(request, pod_id)
    if not PodOutflow.objects.filter(pk=outflow_id, pod_id=pod_id).exists():
        raise services.PodError(f"outflow {outflow_id} not found", code=services.PodErrorCode.OUTFLOW_NOT_FOUND)
    outflow = services.outflow_vote(outflow_id=outflow_id, member_id=request.user.id, approve=approve, reason=reason)
    return _outflow_answer(request, outflow)


class ApproveView(PodView):
    @extend_schema(operation_id="approve_pod_outflow", summary="Approve an outflow", parameters=[POD_ID, OUTFLOW_ID],
                   request=s.EmptyRequestSerializer, responses={200: s.OutflowSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, outflow_id):
        """An eligible member's approval; at the quorum the outflow runs, once."""
        validated(s.EmptyRequestSerializer, request.data)
        return _vote(request, pod_id, outflow_id, approve=True)


class RejectView(PodView):
    @extend_schema(operation_id="reject_pod_outflow", summary="Reject an outflow", parameters=[POD_ID, OUTFLOW_ID],
                   request=s.RejectRequestSerializer, responses={200: s.OutflowSerializer})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id, outflow_id):
        """An eligible member's rejection; once the quorum cannot be met the outflow is REJECTED."""
        data = validated(s.RejectRequestSerializer, request.data)
        return _vote(request, pod_id, outflow_id, approve=False, reason=data["reason"])


class ContributionsView(PodView):
    @extend_schema(operation_id="list_pod_contributions", summary="Members' net contributions", parameters=[POD_ID],
                   responses={200: s.ContributionSerializer(many=True)})  # fmt: skip
    def get(self, request, pod_id):
        """Per paying wallet and currency: paid in, refunded, net (what refunds are proportional to)."""
        refuse_query(request)
        _pod(request, pod_id)
        return Response(s.ContributionSerializer(selectors.contribution_list(pod_id=pod_id), many=True).data)


class DissolveView(PodView):
    @extend_schema(operation_id="dissolve_pod", summary="Dissolve the pod, refunding pro rata", parameters=[POD_ID],
                   request=s.EmptyRequestSerializer, responses={200: s.RefundSerializer(many=True)})  # fmt: skip
    @idempotent(required=True)
    def post(self, request, pod_id):
        """Owners: the balance goes back pro rata to net contributions (largest remainder, exact to
        the minor unit), each refund a transfer; the pod's wallet is closed."""
        validated(s.EmptyRequestSerializer, request.data)
        _pod(request, pod_id)
        refunds = services.pod_dissolve(pod_id=pod_id, actor_id=request.user.id)
        return Response(s.RefundSerializer(refunds, many=True).data)
