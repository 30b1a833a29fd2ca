"""CrowdPods through the SDK (`client.pods`), against the live service and its Celery worker: the
README's trip pod — two members, a goal, pledges reaching it, the batch capture (the worker's
on-commit task), an outflow approved by two, dissolution with pro-rata refunds — and the request
models on their own."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from crowdpay_connect_sdk import errors
from crowdpay_connect_sdk.pods import PodsClient
from crowdpay_connect_sdk.pods_models import (
    PledgeRequest,
    PodGoalRequest,
    PodGoalStatus,
    PodInvite,
    PodOutflowRequest,
    PodOutflowStatus,
    PodPolicy,
    PodRole,
)
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient

from wallets.integrity import reconcile, verify_chains
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory, balance_of, funded

from .conftest import ALL_SCOPES, token

SCOPES = f"{ALL_SCOPES} pod:read pod:write"


def test_pod_requests_serialise_as_the_api_names_them():
    member = uuid.uuid4()
    assert PodInvite(member_id=str(member), role=PodRole.ADMIN).to_dict() == {"member_id": str(member), "role": "admin"}
    assert PodInvite(member_id=member).to_generated().role == PodRole.MEMBER
    policy = PodPolicy(approval_threshold=50_00, approvals_required=2, approver_roles=["admin", "owner", "admin"])
    assert policy.to_dict() == {
        "approval_threshold": 50_00,
        "approvals_required": 2,
        "approver_roles": ["admin", "owner"],
        "requester_approval_counts": False,
        "member_allowance": 0,
    }
    friday = datetime(2030, 6, 7, 18, tzinfo=UTC)
    goal = PodGoalRequest(amount=300_00, currency="USD", deadline=friday, min_contributors=2)
    assert goal.to_generated().deadline == friday and goal.to_dict()["deadline"] == "2030-06-07T18:00:00+00:00"
    goal_id, wallet_id = uuid.uuid4(), uuid.uuid4()
    assert PledgeRequest(goal_id=goal_id, wallet_id=str(wallet_id), amount=1).to_generated().wallet_id == wallet_id
    assert PodOutflowRequest(to_wallet_id=wallet_id, amount=5, currency="USD").to_dict()["to_wallet_id"] == str(
        wallet_id
    )
    with pytest.raises(TypeError, match="minor units"):
        PledgeRequest(goal_id=goal_id, wallet_id=wallet_id, amount=1.5)
    with pytest.raises(ValueError, match="aware datetime"):
        PodGoalRequest(amount=1, currency="USD", deadline=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="role must be one of"):
        PodInvite(member_id=member, role="treasurer")
    with pytest.raises(ValueError, match="role must be one of admin, member, owner"):
        PodPolicy(approval_threshold=0, approvals_required=1, approver_roles=["viewer"])
    with pytest.raises(ValueError, match="wallet_id"):
        PledgeRequest(goal_id=goal_id, wallet_id="w-1", amount=1)
    assert isinstance(WalletClient(base_url="http://x", api_key="k").pods, PodsClient)


async def _until_reached(client: WalletClient, pod_id, goal_id, timeout: float = 30.0):
    """The capture runs on the worker (enqueued on the commit of the pledge that reached the goal):
    OPEN, then CAPTURING (closed, its pledges being captured), then REACHED."""
    deadline = time.monotonic() + timeout
    while True:
        goal = next(g for g in await client.pods.goals(pod_id) if g.id == goal_id)
        if goal.status not in (PodGoalStatus.OPEN, PodGoalStatus.CAPTURING) or time.monotonic() > deadline:
            return goal
        await asyncio.sleep(0.2)


@pytest.mark.slow
def test_a_trip_pod_through_the_sdk(service):
    owner, ana, ben = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pod = WalletFactory(kind="POD", owner_id=owner)
    wallets = {who: funded(amount=500_00, owner_id=who) for who in (ana, ben)}
    hotel = WalletFactory()

    def client_of(who: uuid.UUID) -> WalletClient:
        return WalletClient(base_url=service.url, api_key=token(who, SCOPES), retry=RetryPolicy(max_retries=0))

    async def scenario():
        async with client_of(owner) as o, client_of(ana) as a, client_of(ben) as b:
            with pytest.raises(errors.NotFound):
                await a.pods.get(pod.id)  # not a member: no pod
            assert (await o.pods.get(pod.id)).id == pod.id

            # members: invite, accept
            await o.pods.invite(pod.id, ana, PodRole.ADMIN)
            await o.pods.invite(pod.id, ben)
            assert (await a.pods.accept(pod.id, ana)).status.value == "ACTIVE"
            await b.pods.accept(pod.id, ben)
            with pytest.raises(errors.PermissionDenied) as refused:
                await b.pods.invite(pod.id, uuid.uuid4())
            assert refused.value.code == "forbidden_for_role"
            members = {m.member_id: m.role.value for m in await o.pods.members(pod.id)}
            assert members == {owner: "owner", ana: "admin", ben: "member"}

            # a goal of 300.00 from at least two; two pledges of 150.00 reach it
            deadline = datetime.now(UTC) + timedelta(days=3)
            goal = await a.pods.set_goal(
                pod.id, PodGoalRequest(amount=300_00, currency="USD", deadline=deadline, min_contributors=2)
            )
            first = await a.pods.pledge(
                pod.id,
                PledgeRequest(goal_id=goal.id, wallet_id=wallets[ana].id, amount=150_00),
                idempotency_key="pledge-ana",
            )
            again = await a.pods.pledge(  # the same key: the first answer, one hold
                pod.id,
                PledgeRequest(goal_id=goal.id, wallet_id=wallets[ana].id, amount=150_00),
                idempotency_key="pledge-ana",
            )
            assert again.id == first.id and again.hold_id == first.hold_id
            await b.pods.pledge(pod.id, PledgeRequest(goal_id=goal.id, wallet_id=wallets[ben].id, amount=150_00))
            reached = await _until_reached(o, pod.id, goal.id)
            pledges = await o.pods.pledges(pod.id)
            with pytest.raises(errors.Refused) as late:
                await o.pods.pledge(pod.id, PledgeRequest(goal_id=goal.id, wallet_id=wallets[ana].id, amount=1_00))
            contributions = {c.member_id: c.net for c in await b.pods.contributions(pod.id)}

            # an outflow of 200.00 to the hotel needs two approvals of an owner or admin
            await o.pods.set_policy(
                pod.id, PodPolicy(approval_threshold=50_00, approvals_required=2, approver_roles=["owner", "admin"])
            )
            outflow = await b.pods.request_outflow(
                pod.id, PodOutflowRequest(to_wallet_id=hotel.id, amount=200_00, currency="USD", memo="hotel")
            )
            assert outflow.status == PodOutflowStatus.PENDING
            half = await a.pods.approve_outflow(pod.id, outflow)
            done = await o.pods.approve_outflow(pod.id, outflow.id)
            listed = await o.pods.outflows(pod.id)

            # dissolve: the 100.00 left goes back 50.00 / 50.00
            refunds = await o.pods.dissolve(pod.id)
            return reached, pledges, late.value, contributions, half, done, listed, refunds

    reached, pledges, late, contributions, half, done, listed, refunds = asyncio.run(scenario())
    assert (reached.status, reached.captured_amount) == (PodGoalStatus.REACHED, 300_00)
    assert sorted((p.amount, p.status.value) for p in pledges) == [(150_00, "CAPTURED")] * 2
    assert (late.status, late.code) == (422, "goal_reached")
    assert contributions == {ana: 150_00, ben: 150_00}
    assert (half.status, len(half.votes)) == (PodOutflowStatus.PENDING, 1)
    assert done.status == PodOutflowStatus.EXECUTED and done.operation_id
    assert [o.status for o in listed] == [PodOutflowStatus.EXECUTED]
    assert {r.member_id: r.amount for r in refunds} == {ana: 50_00, ben: 50_00}
    assert balance_of(hotel) == (200_00, 0)
    assert balance_of(wallets[ana]) == balance_of(wallets[ben]) == (400_00, 0)
    assert Wallet.objects.get(pk=pod.id).status == Wallet.Status.CLOSED
    assert verify_chains() == [] and reconcile() == []
