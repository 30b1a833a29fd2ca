"""Pods for tests: a POD wallet opened through the ledger's service, members with funded wallets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from wallets.models import Wallet
from wallets.pods import services
from wallets.pods.models import Pod, Role
from wallets.tests.factories import WalletFactory, funded


@dataclass
class Crew:
    pod: Pod
    owner: uuid.UUID
    wallets: dict[uuid.UUID, Wallet] = field(default_factory=dict)  # member id -> funded USD wallet

    @property
    def pod_id(self) -> uuid.UUID:
        return self.pod.wallet_id


def crew(*, members: int = 2, role: str = Role.MEMBER, amount: int = 1000_00, currency: str = "USD") -> Crew:
    """A pod whose owner and `members` further members (joined, with `role`) each hold a wallet of
    `amount`."""
    owner = uuid.uuid4()
    wallet = WalletFactory(kind=Wallet.Kind.POD, owner_id=owner, base_currency=currency)
    pod = services.pod_ensure(pod_id=wallet.id)
    group = Crew(pod=pod, owner=owner)
    group.wallets[owner] = funded(amount=amount, currency=currency, owner_id=owner)
    for _ in range(members):
        member = uuid.uuid4()
        services.member_invite(pod_id=wallet.id, actor_id=owner, member_id=member, role=role)
        services.member_accept(pod_id=wallet.id, member_id=member)
        group.wallets[member] = funded(amount=amount, currency=currency, owner_id=member)
    return group


def pod_rows() -> None:
    """CrowdPod rows in every state, made through the services (for the admin walk): members
    invited, active, left and removed; goals open, reached, refunded and expired, with pledges
    held, captured and released; outflows in every state; contributions, refunds and a dissolved pod."""
    from datetime import timedelta

    from django.utils import timezone

    from wallets import services as ledger_services
    from wallets.pods.models import PodGoal, PodMember, PodOutflow

    group = crew(members=3, role=Role.ADMIN)
    a, b, c = [m for m in group.wallets if m != group.owner]
    pod = group.pod_id
    later = timezone.now() + timedelta(days=2)
    for status in ("invited", "left", "removed"):
        who = uuid.uuid4()
        services.member_invite(pod_id=pod, actor_id=group.owner, member_id=who, role=Role.VIEWER)
        if status == "left":
            services.member_accept(pod_id=pod, member_id=who)
            services.member_leave(pod_id=pod, member_id=who)
        elif status == "removed":
            services.member_remove(pod_id=pod, actor_id=group.owner, member_id=who)

    def pledge(goal, member, amount):
        return services.pledge_make(
            pod_id=pod, goal_id=goal.id, member_id=member, wallet_id=group.wallets[member].id, amount=amount,
            reference=str(uuid.uuid4()),
        )  # fmt: skip

    reached = services.goal_set(pod_id=pod, actor_id=group.owner, amount=100_00, currency="USD", deadline=later)
    pledge(reached, a, 60_00)
    pledge(reached, b, 60_00)
    services.goal_capture(goal_id=reached.id)
    expired = services.goal_set(pod_id=pod, actor_id=group.owner, amount=900_00, currency="USD", deadline=later)
    pledge(expired, c, 5_00)
    PodGoal.objects.filter(pk=expired.id).update(deadline=timezone.now())
    services.goal_expire(goal_id=expired.id)
    refunded = services.goal_set(pod_id=pod, actor_id=group.owner, amount=10_00, currency="USD", deadline=later)
    pledge(refunded, c, 10_00)
    services.goal_capture(goal_id=refunded.id)
    services.goal_refund(goal_id=refunded.id, actor_id=group.owner)
    open_goal = services.goal_set(pod_id=pod, actor_id=group.owner, amount=900_00, currency="USD", deadline=later)
    pledge(open_goal, a, 1_00)

    services.policy_set(
        pod_id=pod, actor_id=group.owner, approval_threshold=0, approvals_required=2,
        approver_roles=[Role.OWNER, Role.ADMIN], requester_approval_counts=False, member_allowance=0,
    )  # fmt: skip

    def request(to, amount=1_00):
        return services.outflow_request(pod_id=pod, member_id=a, to_wallet_id=to, amount=amount, currency="USD")

    executed = request(group.wallets[a].id)
    services.outflow_vote(outflow_id=executed.id, member_id=b, approve=True)
    services.outflow_vote(outflow_id=executed.id, member_id=c, approve=True)
    rejected = request(group.wallets[a].id)
    for member in (b, c):
        services.outflow_vote(outflow_id=rejected.id, member_id=member, approve=False, reason="no")
    closed = WalletFactory()
    ledger_services.wallet_close(wallet_id=closed.id, actor="walk", reason="closed target")
    failed = request(closed.id)
    services.outflow_vote(outflow_id=failed.id, member_id=b, approve=True)
    services.outflow_vote(outflow_id=failed.id, member_id=c, approve=True)
    expiring = request(group.wallets[a].id)
    PodOutflow.objects.filter(pk=expiring.id).update(expires_at=timezone.now())
    services.outflows_sweep()
    request(group.wallets[b].id)  # pending
    PodOutflow.objects.create(
        pod_id=pod,
        requested_by=a,
        to_wallet_id=group.wallets[b].id,
        amount=1_00,
        currency="USD",
        status=PodOutflow.Status.APPROVED,
        approvals_required=2,
        expires_at=later,
    )  # fmt: skip — approved, its transfer not yet started (the sweep's case)
    assert set(PodOutflow.objects.values_list("status", flat=True)) == set(PodOutflow.Status.values)
    assert set(PodMember.objects.values_list("status", flat=True)) == set(PodMember.Status.values)

    dissolved = crew(members=1)
    payer = next(m for m in dissolved.wallets if m != dissolved.owner)
    services.pod_ensure(pod_id=dissolved.pod_id)
    ledger_services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=dissolved.wallets[payer].id, to_wallet_id=dissolved.pod_id,
        amount=3_00, currency="USD",
    )  # fmt: skip
    services.pod_dissolve(pod_id=dissolved.pod_id, actor_id=dissolved.owner)
