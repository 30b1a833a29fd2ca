"""Largest-remainder refunds: exact to the minor unit, nobody above what they put in."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagas import services as sagas
from wallets.integrity import reconcile
from wallets.models import Balance
from wallets.pods import selectors, services
from wallets.pods.refunds import pro_rata
from wallets.pods.tests.factories import crew

contributions = st.dictionaries(st.integers(0, 40), st.integers(0, 10**12), min_size=1, max_size=40)


@given(contributions, st.data())
def test_shares_sum_exactly_and_never_exceed_a_contribution(weights, data):
    whole = sum(weights.values())
    total = data.draw(st.integers(0, whole)) if whole else 0
    shares = pro_rata(total, weights)
    assert sum(shares.values()) == total
    assert all(0 <= shares[k] <= weights[k] for k in weights)
    # within one unit of the exact proportion
    assert all(abs(shares[k] * whole - total * weights[k]) < whole for k in weights if whole)


def test_more_than_was_contributed_is_refused():
    with pytest.raises(ValueError):
        pro_rata(11, {"a": 5, "b": 5})


@pytest.mark.django_db
@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 50_00), min_size=1, max_size=5), st.integers(0, 100))
def test_dissolving_refunds_the_balance_exactly_to_the_contributors(amounts, spend_percent):
    group = crew(members=len(amounts))
    members = [m for m in group.wallets if m != group.owner]
    for member, amount in zip(members, amounts, strict=False):
        sagas.transfer_start(
            from_wallet_id=group.wallets[member].id, to_wallet_id=group.pod_id, amount=amount, currency="USD",
            memo="", reference=str(uuid.uuid4()), requested_by=str(member),
        )  # fmt: skip
    spend = sum(amounts) * spend_percent // 100
    if spend:
        services.policy_set(
            pod_id=group.pod_id, actor_id=group.owner, approval_threshold=spend, approvals_required=1,
            approver_roles=["owner"], requester_approval_counts=True, member_allowance=spend,
        )  # fmt: skip
        services.outflow_request(
            pod_id=group.pod_id, member_id=group.owner, to_wallet_id=group.wallets[group.owner].id, amount=spend,
            currency="USD",
        )  # fmt: skip
    balance = sum(amounts) - spend
    refunds = services.pod_dissolve(pod_id=group.pod_id, actor_id=group.owner)
    assert sum(r.amount for r in refunds) == balance
    assert Balance.objects.get(wallet_id=group.pod_id, currency="USD").posted == 0
    for row in selectors.contribution_list(pod_id=group.pod_id):
        assert 0 <= row.refunded <= row.paid_in
    assert reconcile() == []
