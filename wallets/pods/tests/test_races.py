"""Real parallel PostgreSQL connections (threads, one connection each): pledges racing a goal,
approvals racing a quorum. After each: one capture, exact amounts, reconcile and chains clean."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from sagas.models import Saga
from wallets.errors import LedgerError
from wallets.integrity import reconcile, verify_chains
from wallets.models import Balance, Hold, JournalEntry
from wallets.pods import services
from wallets.pods.errors import PodError
from wallets.pods.models import Pledge, PodGoal, PodOutflow, Role
from wallets.pods.tests.factories import crew

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL locking"),
]


def _parallel(work, items, workers=16):
    def run(item):
        try:
            return work(item)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def test_fifty_pledges_racing_the_goal_are_captured_once_with_exact_amounts():
    group = crew(members=49, amount=100_00)
    goal = services.goal_set(
        pod_id=group.pod_id, actor_id=group.owner, amount=600_00, currency="USD",
        deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    start = threading.Barrier(16, timeout=60)

    def pledge(item):
        n, member = item
        if n < 16:  # the first round starts together (a later one would wait for parties that never come)
            try:
                start.wait()
            except threading.BrokenBarrierError:
                pass
        try:
            services.pledge_make(
                pod_id=group.pod_id, goal_id=goal.id, member_id=member, wallet_id=group.wallets[member].id,
                amount=20_00, reference=str(uuid.uuid4()),
            )  # fmt: skip
        except PodError as exc:
            return exc.code
        services.goal_capture(goal_id=goal.id)  # what the on-commit task does
        return "pledged"

    outcomes = _parallel(pledge, list(enumerate(group.wallets)))
    assert set(outcomes) <= {"pledged", "goal_reached"}
    services.goals_sweep()  # the beat: anything left held on the closed goal is released
    goal = PodGoal.objects.get(pk=goal.id)
    assert goal.status == PodGoal.Status.REACHED
    captured = Pledge.objects.filter(goal=goal, hold__status=Hold.Status.CAPTURED)
    assert goal.captured_amount == sum(p.amount for p in captured) >= 600_00
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == goal.captured_amount
    batches = JournalEntry.objects.filter(reference__startswith=f"podgoal:{goal.id}:", kind="pledge_capture")
    assert batches.count() == -(-captured.count() // services.CAPTURE_BATCH)
    assert Pledge.objects.filter(goal=goal).count() == outcomes.count("pledged")
    assert not Pledge.objects.filter(goal=goal, hold__status=Hold.Status.HELD).exists()
    for member, wallet in group.wallets.items():
        posted = Balance.objects.get(wallet=wallet, currency="USD").posted
        assert posted in (100_00, 80_00)
        assert (posted == 80_00) == captured.filter(member_id=member).exists()
    assert verify_chains() == []
    assert reconcile() == []


def test_pledges_racing_a_batched_capture_none_lost_none_twice_none_after_the_close(monkeypatch):
    """Fifteen members pledge again and again while the capture runs in small batches: each pledge
    is either refused (`goal_reached`) or captured, exactly once; nothing stays held or is released
    (a pledge accepted after the close would be left held); the pod holds exactly the captures."""
    group = crew(members=15, amount=100_00)
    goal = services.goal_set(
        pod_id=group.pod_id, actor_id=group.owner, amount=120_00, currency="USD",
        deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    monkeypatch.setattr(services, "CAPTURE_BATCH", 3)
    monkeypatch.setattr(services, "_enqueue_capture", lambda goal_id: None)  # the capture below races them
    members = [m for m in group.wallets if m != group.owner]
    start = threading.Barrier(len(members) + 1, timeout=60)

    def work(i):
        try:
            start.wait()
        except threading.BrokenBarrierError:
            pass
        if i == len(members):
            while services.goal_capture(goal_id=goal.id).status != PodGoal.Status.REACHED:
                pass
            return ["captured"]
        outcomes = []
        member = members[i]
        for _ in range(12):
            try:
                services.pledge_make(
                    pod_id=group.pod_id, goal_id=goal.id, member_id=member, wallet_id=group.wallets[member].id,
                    amount=1_00, reference=str(uuid.uuid4()),
                )  # fmt: skip
                outcomes.append("pledged")
            except PodError as exc:
                outcomes.append(exc.code)
        return outcomes

    results = _parallel(work, range(len(members) + 1))
    accepted = sum(r.count("pledged") for r in results[:-1])
    assert {o for r in results[:-1] for o in r} <= {"pledged", "goal_reached"}
    assert accepted >= 120
    goal = PodGoal.objects.get(pk=goal.id)
    pledges = Pledge.objects.filter(goal=goal)
    assert pledges.count() == accepted  # none lost
    assert set(pledges.values_list("hold__status", flat=True)) == {Hold.Status.CAPTURED}  # none after the close
    assert goal.status == PodGoal.Status.REACHED and goal.captured_amount == accepted * 1_00
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == accepted * 1_00  # none twice
    for i, member in enumerate(members):
        assert Balance.objects.get(wallet=group.wallets[member], currency="USD").posted == (
            100_00 - results[i].count("pledged") * 1_00
        )
    assert not Balance.objects.filter(held__gt=0).exists()
    assert verify_chains() == []
    assert reconcile() == []


def test_deadline_expiry_releases_every_hold_while_pledges_race_it():
    group = crew(members=15, amount=100_00)
    goal = services.goal_set(
        pod_id=group.pod_id, actor_id=group.owner, amount=10_000_00, currency="USD",
        deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    members = list(group.wallets)

    def work(i):
        if i == 8:
            PodGoal.objects.filter(pk=goal.id).update(deadline=timezone.now())
            return services.goals_sweep()["expired"]
        try:
            services.pledge_make(
                pod_id=group.pod_id, goal_id=goal.id, member_id=members[i], wallet_id=group.wallets[members[i]].id,
                amount=10_00, reference=str(uuid.uuid4()),
            )  # fmt: skip
        except PodError as exc:
            return exc.code
        return "pledged"

    _parallel(work, range(len(members)))
    services.goals_sweep()
    assert PodGoal.objects.get(pk=goal.id).status == PodGoal.Status.EXPIRED
    assert not Pledge.objects.filter(goal=goal, hold__status=Hold.Status.HELD).exists()
    assert not Balance.objects.filter(held__gt=0).exists()
    for wallet in group.wallets.values():
        assert Balance.objects.get(wallet=wallet, currency="USD").posted == 100_00
    assert verify_chains() == []
    assert reconcile() == []


def test_approvals_racing_the_quorum_execute_the_outflow_once():
    group = crew(members=6, role=Role.ADMIN, amount=100_00)
    payer = next(m for m in group.wallets if m != group.owner)
    services.pledge_make  # noqa: B018
    from sagas import services as sagas

    sagas.transfer_start(
        from_wallet_id=group.wallets[payer].id, to_wallet_id=group.pod_id, amount=50_00, currency="USD", memo="",
        reference=str(uuid.uuid4()), requested_by=str(payer),
    )  # fmt: skip
    services.policy_set(
        pod_id=group.pod_id, actor_id=group.owner, approval_threshold=0, approvals_required=2,
        approver_roles=["owner", "admin"], requester_approval_counts=False, member_allowance=0,
    )  # fmt: skip
    target = group.wallets[group.owner].id
    outflow = services.outflow_request(
        pod_id=group.pod_id, member_id=group.owner, to_wallet_id=target, amount=30_00, currency="USD"
    )
    assert outflow.status == PodOutflow.Status.PENDING
    voters = [m for m in group.wallets if m != group.owner]

    def vote(member):
        try:
            return services.outflow_vote(outflow_id=outflow.id, member_id=member, approve=True).status
        except (PodError, LedgerError) as exc:
            return exc.code

    outcomes = _parallel(vote, voters, workers=6)
    assert outcomes.count("outflow_not_pending") == len(voters) - 2, outcomes
    outflow = PodOutflow.objects.get(pk=outflow.id)
    assert outflow.status == PodOutflow.Status.EXECUTED
    assert Saga.objects.filter(reference=services.outflow_reference(outflow.id)).count() == 1
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 20_00
    assert verify_chains() == []
    assert reconcile() == []


def _other_session():
    """A second PostgreSQL session of the test database (autocommit), as another worker's."""
    import psycopg

    settings = connections["default"].settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None,
        port=settings["PORT"] or None, password=settings["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip


def test_a_capture_finding_another_one_running_returns_at_once_and_a_closing_goal_enqueues_nothing(monkeypatch):
    """The capture lease: while another session holds it, `goal_capture` leaves the goal alone (the
    holder captures it); once it is let go, the capture runs, and lets go of it in turn. While a
    close holds the goal's gate, the check after a pledge's commit enqueues nothing (the close
    decides with that pledge counted)."""
    group = crew(members=2, amount=100_00)
    a, b = [m for m in group.wallets if m != group.owner]
    goal = services.goal_set(
        pod_id=group.pod_id, actor_id=group.owner, amount=30_00, currency="USD",
        deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    enqueued: list = []
    monkeypatch.setattr(services, "_enqueue_capture", enqueued.append)
    gate, lease = [services._GOAL_GATE, services._gate_key(goal.id)], [services._lease_key(goal.id)]
    for member, amount in ((a, 20_00), (b, 10_00)):
        services.pledge_make(
            pod_id=group.pod_id, goal_id=goal.id, member_id=member, wallet_id=group.wallets[member].id,
            amount=amount, reference=str(uuid.uuid4()),
        )  # fmt: skip
    assert enqueued == [goal.id]  # only the pledge that met it (20.00 of 30.00 was not due)
    with _other_session() as other:
        with other.transaction():
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", gate)  # a close holds the gate
            assert not services._capture_due(goal.id)
        assert services._capture_due(goal.id)
        other.execute("SELECT pg_advisory_lock(%s)", lease)  # another worker is capturing
        assert services.goal_capture(goal_id=goal.id).status == PodGoal.Status.OPEN
        assert set(Hold.objects.filter(pledge__goal=goal).values_list("status", flat=True)) == {Hold.Status.HELD}
        other.execute("SELECT pg_advisory_unlock(%s)", lease)
    goal = services.goal_capture(goal_id=goal.id)
    assert (goal.status, goal.captured_amount) == (PodGoal.Status.REACHED, 30_00)
    assert not services._capture_due(goal.id)
    with _other_session() as other:  # this session let go of the lease
        assert other.execute("SELECT pg_try_advisory_lock(%s)", lease).fetchone()[0] is True
    assert verify_chains() == []
    assert reconcile() == []
