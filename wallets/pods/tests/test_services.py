"""CrowdPod services on the ledger: members, contributions, goals through pledges, refunds, outflows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from sagas import services as sagas
from wallets import services as ledger_services
from wallets.errors import LedgerError
from wallets.integrity import reconcile, replay, verify_chains
from wallets.models import Balance, Event, Hold, Wallet
from wallets.pods import selectors, services
from wallets.pods.errors import PodError
from wallets.pods.models import Pledge, Pod, PodContribution, PodGoal, PodMember, PodOutflow, Role
from wallets.pods.tests.factories import crew
from wallets.tests.factories import WalletFactory, balance_of

pytestmark = pytest.mark.django_db


def _ok():
    assert verify_chains() == []
    assert reconcile() == []


def _types(wallet_id) -> list[str]:
    return list(Event.objects.filter(wallet_id=wallet_id).order_by("version").values_list("type", flat=True))


def _pay(group, member, amount, reference=None):
    return sagas.transfer_start(
        from_wallet_id=group.wallets[member].id,
        to_wallet_id=group.pod_id,
        amount=amount,
        currency="USD",
        memo="",
        reference=reference or str(uuid.uuid4()),
        requested_by=str(member),
    )


# --- members --------------------------------------------------------------------------------------


def test_the_pod_wallets_owner_is_its_first_owner_with_an_event():
    group = crew(members=0)
    member = PodMember.objects.get(pod=group.pod)
    assert (member.member_id, member.role, member.status) == (group.owner, Role.OWNER, PodMember.Status.ACTIVE)
    assert _types(group.pod_id) == ["WalletOpened", "PodMemberJoined"]
    assert services.pod_ensure(pod_id=group.pod_id) == group.pod  # once
    _ok()


def test_a_user_wallet_is_not_a_pod():
    with pytest.raises(PodError) as refused:
        services.pod_ensure(pod_id=WalletFactory().id)
    assert refused.value.code == "not_a_pod"


def test_invite_accept_change_role_remove_and_leave_emit_events():
    group = crew(members=0)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    services.member_invite(pod_id=group.pod_id, actor_id=group.owner, member_id=alice, role=Role.ADMIN)
    services.member_accept(pod_id=group.pod_id, member_id=alice)
    services.member_invite(pod_id=group.pod_id, actor_id=alice, member_id=bob, role=Role.MEMBER)
    services.member_accept(pod_id=group.pod_id, member_id=bob)
    services.member_role_change(pod_id=group.pod_id, actor_id=alice, member_id=bob, role=Role.VIEWER)
    services.member_remove(pod_id=group.pod_id, actor_id=alice, member_id=bob)
    carol = uuid.uuid4()
    services.member_invite(pod_id=group.pod_id, actor_id=group.owner, member_id=carol, role=Role.MEMBER)
    services.member_remove(pod_id=group.pod_id, actor_id=group.owner, member_id=carol)  # withdrawn
    services.member_invite(pod_id=group.pod_id, actor_id=group.owner, member_id=carol, role=Role.VIEWER)
    services.member_leave(pod_id=group.pod_id, member_id=alice)
    assert _types(group.pod_id)[2:] == [
        "PodMemberInvited",
        "PodMemberJoined",
        "PodMemberInvited",
        "PodMemberJoined",
        "PodMemberRoleChanged",
        "PodMemberLeft",
        "PodMemberInvited",
        "PodInvitationWithdrawn",
        "PodMemberInvited",
        "PodMemberLeft",
    ]
    invited = Event.objects.filter(wallet_id=group.pod_id, type="PodMemberInvited").order_by("version")
    assert [(e.data["member_id"], e.data["role"], e.data["actor"], e.data.get("again")) for e in invited] == [
        (str(alice), "admin", str(group.owner), None),
        (str(bob), "member", str(alice), None),
        (str(carol), "member", str(group.owner), None),
        (str(carol), "viewer", str(group.owner), True),
    ]
    _ok()


def test_a_policy_change_is_an_event_with_before_and_after():
    group = crew(members=0)
    policy = {
        "approval_threshold": 50_00, "approvals_required": 2, "approver_roles": ["owner", "admin"],
        "requester_approval_counts": False, "member_allowance": 10_00,
    }  # fmt: skip
    services.policy_set(pod_id=group.pod_id, actor_id=group.owner, **policy)
    services.policy_set(pod_id=group.pod_id, actor_id=group.owner, **policy)  # the same: no event
    (changed,) = Event.objects.filter(wallet_id=group.pod_id, type="PodPolicyChanged")
    assert changed.data["to"] == {**policy, "approver_roles": ["admin", "owner"]}
    assert changed.data["from"]["approvals_required"] == 1 and changed.data["actor"] == str(group.owner)
    _ok()


@pytest.mark.parametrize(
    ("actor_role", "target_role", "allowed"),
    [("admin", "owner", False), ("admin", "admin", False), ("admin", "member", True), ("member", "viewer", False)],
)
def test_who_may_invite_whom(actor_role, target_role, allowed):
    group = crew(members=1, role=actor_role)
    actor = next(m for m in group.wallets if m != group.owner)
    invite = lambda: services.member_invite(  # noqa: E731
        pod_id=group.pod_id, actor_id=actor, member_id=uuid.uuid4(), role=target_role
    )
    if allowed:
        assert invite().status == PodMember.Status.INVITED
    else:
        with pytest.raises(PodError) as refused:
            invite()
        assert refused.value.code == "forbidden_for_role"


def test_the_last_owner_cannot_leave_while_money_is_in_the_pod():
    group = crew(members=1)
    member = next(m for m in group.wallets if m != group.owner)
    _pay(group, member, 10_00)
    with pytest.raises(PodError) as refused:
        services.member_leave(pod_id=group.pod_id, member_id=group.owner)
    assert refused.value.code == "last_owner"
    with pytest.raises(PodError):
        services.member_role_change(pod_id=group.pod_id, actor_id=group.owner, member_id=group.owner, role="admin")
    services.member_role_change(pod_id=group.pod_id, actor_id=group.owner, member_id=member, role=Role.OWNER)
    assert services.member_leave(pod_id=group.pod_id, member_id=group.owner).status == PodMember.Status.LEFT
    _ok()


# --- contributions --------------------------------------------------------------------------------


def test_every_payment_in_records_the_paying_member_and_replay_rebuilds_it():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    _pay(group, a, 30_00)
    _pay(group, a, 5_00)
    _pay(group, b, 12_00)
    rows = {r.member_id: (r.paid_in, r.refunded) for r in selectors.contribution_list(pod_id=group.pod_id)}
    assert rows == {a: (35_00, 0), b: (12_00, 0)}
    _ok()
    PodContribution.objects.filter(pod_id=group.pod_id, member_id=a).update(paid_in=1)
    problems = reconcile()
    assert [p.check for p in problems] == ["contributions"]
    result = replay()
    assert result.repaired >= 1
    assert PodContribution.objects.get(pod_id=group.pod_id, member_id=a).paid_in == 35_00
    _ok()


def test_a_payment_writes_no_contribution_in_its_movement_and_the_fold_catches_up_exactly_once():
    # The movement is the one executor call (the pod's lock held only inside it); the rows are the
    # fold of the pod's stream up to its cursor: reconcile counts the pending fold, the list and the
    # admin's view see it, a catch-up stores it once.
    from wallets.pods import contributions
    from wallets.pods.models import ContributionCursor

    group = crew(members=1)
    member = next(m for m in group.wallets if m != group.owner)
    source = group.wallets[member].id
    for amount in (7_00, 3_00):
        ledger_services.transfer_execute(
            transfer_id=uuid.uuid4(), from_wallet_id=source, to_wallet_id=group.pod_id, amount=amount, currency="USD"
        )
    assert not PodContribution.objects.filter(pod_id=group.pod_id).exists()
    assert reconcile() == []  # the rows plus their pending fold agree with the replay
    (shown,) = contributions.current(group.pod_id)  # the admin's read: writes nothing
    assert (shown.member_id, shown.paid_in, shown.pk) == (member, 10_00, None)
    assert contributions.catch_up(group.pod_id) > 0
    assert contributions.catch_up(group.pod_id) == 0  # nothing past the cursor: nothing twice
    head = Wallet.objects.values_list("version", flat=True).get(pk=group.pod_id)
    assert ContributionCursor.objects.get(pod_id=group.pod_id).version == head
    row = PodContribution.objects.get(pod_id=group.pod_id)
    assert (row.member_id, row.paid_in, row.refunded) == (member, 10_00, 0)
    _pay(group, member, 5_00)
    assert contributions.catch_up_all() == 1 and contributions.catch_up_all() == 0
    assert PodContribution.objects.get(pod_id=group.pod_id).paid_in == 15_00
    _ok()


def test_a_transfer_into_a_user_wallet_records_no_contribution():
    group = crew(members=1)
    member = next(m for m in group.wallets if m != group.owner)
    sagas.transfer_start(
        from_wallet_id=group.wallets[member].id, to_wallet_id=group.wallets[group.owner].id, amount=1_00,
        currency="USD", memo="", reference=str(uuid.uuid4()), requested_by=str(member),
    )  # fmt: skip
    assert not PodContribution.objects.exists()


# --- goals and pledges ----------------------------------------------------------------------------


def _goal(group, amount=100_00, **kwargs):
    return services.goal_set(
        pod_id=group.pod_id,
        actor_id=group.owner,
        amount=amount,
        currency="USD",
        deadline=kwargs.pop("deadline", timezone.now() + timedelta(days=7)),
        **kwargs,
    )


def _pledge(group, goal, member, amount, reference=None):
    return services.pledge_make(
        pod_id=group.pod_id,
        goal_id=goal.id,
        member_id=member,
        wallet_id=group.wallets[member].id,
        amount=amount,
        reference=reference or str(uuid.uuid4()),
    )


def test_pledges_hold_on_members_wallets_and_the_goal_is_captured_in_one_movement():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group)
    pod_version = Wallet.objects.get(pk=group.pod_id).version
    _pledge(group, goal, a, 60_00)
    assert Wallet.objects.get(pk=group.pod_id).version == pod_version  # a pledge leaves the pod alone
    assert balance_of(group.wallets[a]) == (1000_00, 60_00)
    _pledge(group, goal, b, 50_00)
    goal = services.goal_capture(goal_id=goal.id)
    assert goal.status == PodGoal.Status.REACHED and goal.captured_amount == 110_00
    assert balance_of(group.wallets[a]) == (940_00, 0) and balance_of(group.wallets[b]) == (950_00, 0)
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 110_00
    assert _types(group.pod_id)[-3:] == ["WalletCredited", "WalletCredited", "PodGoalReached"]
    assert {r.member_id: r.paid_in for r in selectors.contribution_list(pod_id=group.pod_id)} == {a: 60_00, b: 50_00}
    assert services.goal_capture(goal_id=goal.id).journal_id == goal.journal_id  # idempotent
    with pytest.raises(PodError) as refused:
        _pledge(group, goal, a, 1_00)
    assert refused.value.code == "goal_reached"
    _ok()


def test_min_contributors_holds_the_capture_back():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group, amount=50_00, min_contributors=2)
    _pledge(group, goal, a, 80_00)
    assert services.goal_capture(goal_id=goal.id).status == PodGoal.Status.OPEN
    _pledge(group, goal, b, 1_00)
    assert services.goal_capture(goal_id=goal.id).status == PodGoal.Status.REACHED
    _ok()


def test_a_crash_inside_the_capture_leaves_nothing_and_a_rerun_captures_once(monkeypatch):
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group)
    _pledge(group, goal, a, 70_00)
    _pledge(group, goal, b, 30_00)
    from wallets import executor

    running = type(executor.executor())
    real_execute = running.execute

    def crash(self, plan):  # after the capture's executor call, inside its transaction
        outcome = real_execute(self, plan)
        if plan.kind == "pledge_capture":
            raise SystemExit("worker killed mid-capture")
        return outcome

    monkeypatch.setattr(running, "execute", crash)
    with pytest.raises(SystemExit):
        services.goal_capture(goal_id=goal.id)
    monkeypatch.undo()
    # The close committed (its own short transaction): no pledge joins any more; the batch did not.
    assert PodGoal.objects.get(pk=goal.id).status == PodGoal.Status.CAPTURING
    assert Hold.objects.filter(pledge__goal=goal, status="HELD").count() == 2
    with pytest.raises(PodError) as refused:
        _pledge(group, goal, a, 1_00)
    assert refused.value.code == "goal_reached"
    _ok()
    assert services.goals_sweep()["captured"] == 1  # the beat resumes it
    assert services.goal_capture(goal_id=goal.id).status == PodGoal.Status.REACHED
    assert services.goal_capture(goal_id=goal.id).captured_amount == 100_00
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 100_00
    _ok()


def test_a_crash_between_capture_batches_resumes_with_the_rest_only(monkeypatch):
    group = crew(members=5)
    members = [m for m in group.wallets if m != group.owner]
    goal = _goal(group, amount=50_00)
    for member in members:
        _pledge(group, goal, member, 10_00 + members.index(member))
    monkeypatch.setattr(services, "CAPTURE_BATCH", 2)
    real_capture = ledger_services.pledges_capture
    batches: list[int] = []
    died: list[bool] = []

    def second_batch_dies(**kwargs):
        if len(batches) == 1 and not died:
            died.append(True)
            raise SystemExit("worker killed between batches")
        batches.append(len(kwargs["hold_ids"]))
        return real_capture(**kwargs)

    monkeypatch.setattr(ledger_services, "pledges_capture", second_batch_dies)
    with pytest.raises(SystemExit):
        services.goal_capture(goal_id=goal.id)
    assert PodGoal.objects.get(pk=goal.id).status == PodGoal.Status.CAPTURING
    assert Hold.objects.filter(pledge__goal=goal, status="CAPTURED").count() == 2
    assert Hold.objects.filter(pledge__goal=goal, status="HELD").count() == 3
    _ok()
    goal = services.goal_capture(goal_id=goal.id)  # the task again (or the sweep)
    assert batches == [2, 2, 1]
    assert goal.status == PodGoal.Status.REACHED
    assert goal.captured_amount == sum(10_00 + i for i in range(5)) == 50_10
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 50_10
    for member in members:
        assert balance_of(group.wallets[member]) == (1000_00 - 10_00 - members.index(member), 0)
    reached = Event.objects.filter(wallet_id=group.pod_id, type="PodGoalReached").get()
    assert (reached.data["amount"], reached.data["pledges"], len(reached.data["journal_ids"])) == (50_10, 5, 3)
    assert services.goal_capture(goal_id=goal.id).captured_amount == 50_10  # once
    _ok()


def test_a_pledge_on_a_wallet_frozen_after_the_close_is_released_not_captured():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group, amount=50_00)
    _pledge(group, goal, a, 40_00)
    _pledge(group, goal, b, 20_00)
    assert services.goal_close(goal_id=goal.id)
    ledger_services.wallet_freeze(wallet_id=group.wallets[b].id, actor="officer", reason="compliance check")
    goal = services.goal_capture(goal_id=goal.id)
    assert (goal.status, goal.captured_amount) == (PodGoal.Status.REACHED, 40_00)
    assert balance_of(group.wallets[b]) == (1000_00, 0)
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 40_00
    _ok()


def test_an_unmet_deadline_releases_every_pledge():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group, amount=500_00)
    _pledge(group, goal, a, 10_00)
    _pledge(group, goal, b, 20_00)
    PodGoal.objects.filter(pk=goal.id).update(deadline=timezone.now() - timedelta(seconds=1))
    with pytest.raises(PodError) as refused:
        _pledge(group, goal, a, 1_00)
    assert refused.value.code == "goal_expired"
    counts = services.goals_sweep()
    assert counts["expired"] == 1
    assert PodGoal.objects.get(pk=goal.id).status == PodGoal.Status.EXPIRED
    assert balance_of(group.wallets[a]) == (1000_00, 0) and balance_of(group.wallets[b]) == (1000_00, 0)
    assert "PledgeReleased" in _types(group.wallets[a].id)
    assert "PodGoalExpired" in _types(group.pod_id)
    _ok()


def test_a_pledge_needs_funds_and_the_members_own_wallet():
    group = crew(members=2)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = _goal(group)
    with pytest.raises(LedgerError) as refused:
        _pledge(group, goal, a, 5000_00)
    assert refused.value.code == "insufficient_funds"
    with pytest.raises(PodError) as refused:
        services.pledge_make(
            pod_id=group.pod_id, goal_id=goal.id, member_id=a, wallet_id=group.wallets[b].id, amount=1, reference="x"
        )
    assert refused.value.code == "wallet_not_found"
    assert not Pledge.objects.exists()


# --- refunds --------------------------------------------------------------------------------------


def test_dissolving_refunds_pro_rata_exactly_and_closes_the_pod():
    group = crew(members=3)
    a, b, c = [m for m in group.wallets if m != group.owner]
    _pay(group, a, 1_00)
    _pay(group, b, 1_00)
    _pay(group, c, 2_00)
    services.policy_set(
        pod_id=group.pod_id, actor_id=group.owner, approval_threshold=1_00, approvals_required=1,
        approver_roles=["owner"], requester_approval_counts=False, member_allowance=1_00,
    )  # fmt: skip
    spent = services.outflow_request(
        pod_id=group.pod_id, member_id=a, to_wallet_id=group.wallets[group.owner].id, amount=1_00, currency="USD"
    )
    assert (spent.status, spent.within_allowance) == (PodOutflow.Status.EXECUTED, True)
    refunds = services.pod_dissolve(pod_id=group.pod_id, actor_id=group.owner)
    assert {r.member_id: r.amount for r in refunds} == {a: 75, b: 75, c: 1_50}  # 3.00 over 1:1:2
    assert sum(r.amount for r in refunds) == 3_00
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 0
    assert Wallet.objects.get(pk=group.pod_id).status == Wallet.Status.CLOSED
    assert Pod.objects.get(pk=group.pod_id).status == Pod.Status.DISSOLVED
    assert {r.member_id: r.refunded for r in selectors.contribution_list(pod_id=group.pod_id)} == {
        a: 75,
        b: 75,
        c: 1_50,
    }
    _ok()


def test_a_pending_outflow_that_is_rejected_moves_nothing():
    group = crew(members=1, role=Role.ADMIN)
    admin = next(m for m in group.wallets if m != group.owner)
    _pay(group, admin, 10_00)
    outflow = services.outflow_request(
        pod_id=group.pod_id, member_id=admin, to_wallet_id=group.wallets[admin].id, amount=5_00, currency="USD"
    )
    assert outflow.status == PodOutflow.Status.PENDING
    outflow = services.outflow_vote(outflow_id=outflow.id, member_id=group.owner, approve=False, reason="no")
    assert outflow.status == PodOutflow.Status.REJECTED
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 10_00
    with pytest.raises(PodError) as refused:
        services.outflow_vote(outflow_id=outflow.id, member_id=group.owner, approve=True)
    assert refused.value.code == "outflow_not_pending"
    _ok()
