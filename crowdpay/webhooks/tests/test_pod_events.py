"""CrowdPod events to webhooks, end to end against the loopback receiver: each active member who
subscribes gets pod.goal_reached, pod.goal_expired, pod.outflow_requested / approved / rejected,
signed (verified with the Standard Webhooks reference verifier); the message is written with the
pod's change and only with it; a non-member, or a member who does not subscribe, gets nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from crowdpay.webhooks import services
from crowdpay.webhooks.models import Message
from sagas import services as sagas
from wallets.pods import services as pods
from wallets.pods.errors import PodError
from wallets.pods.models import PodGoal, PodOutflow, Role
from wallets.pods.tests.factories import crew

from .conftest import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline")]

POD_TYPES = [
    "pod.goal_reached",
    "pod.goal_expired",
    "pod.outflow_requested",
    "pod.outflow_approved",
    "pod.outflow_rejected",
]


def _received(receiver, secrets: dict[str, str]) -> list[tuple[uuid.UUID, str, dict]]:
    """(recipient, type, data) of every delivery, each verified with its endpoint's secret."""
    out = []
    for got in receiver.received:
        message = Message.objects.get(uid=uuid.UUID(got.headers["webhook-id"].removeprefix("msg_")))
        payload = Webhook(secrets[str(message.owner_id)]).verify(got.body, got.headers)
        out.append((message.owner_id, payload["type"], payload["data"]))
    return out


@pytest.fixture
def group(receiver):
    """A pod with an owner and two members; the owner and the first member subscribe to pod.*,
    the second member to operation.succeeded only; an outsider subscribes to pod.* too."""
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    group.a, group.b, group.outsider = a, b, uuid.uuid4()
    group.secrets = {}
    only_operations = ["operation.succeeded"]
    subscriptions = [(group.owner, POD_TYPES), (a, POD_TYPES), (b, only_operations), (group.outsider, POD_TYPES)]
    for who, types in subscriptions:
        endpoint = services.endpoint_create(owner_id=who, url=receiver.url, event_types=types)
        group.secrets[str(who)] = endpoint.secret
    return group


def _goal(group, amount):
    return pods.goal_set(
        pod_id=group.pod_id, actor_id=group.owner, amount=amount, currency="USD",
        deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip


def _pledge(group, goal, member, amount):
    return pods.pledge_make(
        pod_id=group.pod_id, goal_id=goal.id, member_id=member, wallet_id=group.wallets[member].id,
        amount=amount, reference=str(uuid.uuid4()),
    )  # fmt: skip


def test_goal_reached_goes_to_every_subscribed_member_once_the_pledges_are_captured(receiver, group):
    goal = _goal(group, 100_00)
    _pledge(group, goal, group.a, 60_00)
    _pledge(group, goal, group.b, 40_00)
    assert not Message.objects.exists()  # pledges are not told
    pods.goal_close(goal_id=goal.id)
    assert not Message.objects.exists()  # closed, not yet captured: not yet reached
    assert pods.goal_capture(goal_id=goal.id).status == PodGoal.Status.REACHED
    assert drain() == ["delivered", "delivered"]
    got = _received(receiver, group.secrets)
    assert sorted(r for r, _, _ in got) == sorted([group.owner, group.a])
    for _, type_, data in got:
        assert type_ == "pod.goal_reached"
        assert data["pod_id"] == str(group.pod_id) and data["goal_id"] == str(goal.id)
        assert (data["amount"], data["goal_amount"], data["pledges"], data["contributors"]) == (100_00, 100_00, 2, 2)
    pods.goal_capture(goal_id=goal.id)  # again: nothing more
    assert drain() == [] and Message.objects.count() == 2


def test_goal_expired_is_told_with_what_was_pledged(receiver, group):
    goal = _goal(group, 500_00)
    _pledge(group, goal, group.a, 10_00)
    PodGoal.objects.filter(pk=goal.id).update(deadline=timezone.now() - timedelta(seconds=1))
    assert pods.goals_sweep()["expired"] == 1
    assert drain() == ["delivered", "delivered"]
    got = _received(receiver, group.secrets)
    assert {(t, d["goal_id"], d["pledged"]) for _, t, d in got} == {("pod.goal_expired", str(goal.id), 10_00)}


def test_outflows_requested_approved_and_rejected(receiver, group):
    sagas.transfer_start(
        from_wallet_id=group.wallets[group.a].id, to_wallet_id=group.pod_id, amount=50_00, currency="USD", memo="",
        reference=str(uuid.uuid4()), requested_by=str(group.a),
    )  # fmt: skip
    pods.member_role_change(pod_id=group.pod_id, actor_id=group.owner, member_id=group.a, role=Role.ADMIN)
    pods.policy_set(
        pod_id=group.pod_id, actor_id=group.owner, approval_threshold=5_00, approvals_required=1,
        approver_roles=["owner", "admin"], requester_approval_counts=False, member_allowance=5_00,
    )  # fmt: skip
    target = group.wallets[group.b].id
    # 1. Above the threshold: requested, then one approval meets the quorum.
    first = pods.outflow_request(
        pod_id=group.pod_id, member_id=group.b, to_wallet_id=target, amount=20_00, currency="USD", memo="tickets"
    )
    assert drain() == ["delivered", "delivered"]
    pods.outflow_vote(outflow_id=first.id, member_id=group.a, approve=True)
    # 2. Within the allowance: requested and approved at once.
    pods.outflow_request(pod_id=group.pod_id, member_id=group.b, to_wallet_id=target, amount=3_00, currency="USD")
    # 3. Rejected by the only other approver who could still approve.
    third = pods.outflow_request(
        pod_id=group.pod_id, member_id=group.a, to_wallet_id=target, amount=10_00, currency="USD"
    )
    pods.outflow_vote(outflow_id=third.id, member_id=group.owner, approve=False, reason="not now")
    # A refused vote (already decided) writes nothing.
    with pytest.raises(PodError):
        pods.outflow_vote(outflow_id=third.id, member_id=group.owner, approve=True)
    drain()
    got = _received(receiver, group.secrets)
    by_owner = [(t, d["outflow_id"], d.get("via"), d.get("reason"), d["status"]) for r, t, d in got if r == group.owner]
    assert by_owner == [
        ("pod.outflow_requested", str(first.id), None, None, "PENDING"),
        ("pod.outflow_approved", str(first.id), "quorum", None, "APPROVED"),
        ("pod.outflow_requested", by_owner[2][1], None, None, "APPROVED"),
        ("pod.outflow_approved", by_owner[2][1], "allowance", None, "APPROVED"),
        ("pod.outflow_requested", str(third.id), None, None, "PENDING"),
        ("pod.outflow_rejected", str(third.id), None, "rejected", "REJECTED"),
    ]
    assert [t for r, t, _ in got if r == group.a] == [t for t, *_ in by_owner]
    assert {r for r, _, _ in got} == {group.owner, group.a}  # not b (not subscribed), not the outsider
    requested = next(d for r, t, d in got if t == "pod.outflow_requested")
    assert (requested["amount"], requested["currency"], requested["memo"]) == (20_00, "USD", "tickets")
    assert requested["to_wallet_id"] == str(target) and requested["requested_by"] == str(group.b)


def test_an_expired_outflow_is_told_as_rejected(receiver, group):
    pods.policy_set(
        pod_id=group.pod_id, actor_id=group.owner, approval_threshold=0, approvals_required=1,
        approver_roles=["owner"], requester_approval_counts=False, member_allowance=0,
    )  # fmt: skip
    outflow = pods.outflow_request(
        pod_id=group.pod_id, member_id=group.a, to_wallet_id=group.wallets[group.a].id, amount=1_00, currency="USD"
    )
    PodOutflow.objects.filter(pk=outflow.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert pods.outflows_sweep()["expired"] == 1
    drain()
    got = [(t, d.get("reason")) for r, t, d in _received(receiver, group.secrets) if r == group.a]
    assert got == [("pod.outflow_requested", None), ("pod.outflow_rejected", "expired")]
    assert all(d["outflow_id"] == str(outflow.id) for _, _, d in _received(receiver, group.secrets))
