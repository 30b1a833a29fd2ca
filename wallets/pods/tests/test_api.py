"""The trip pod through the API: members, goal, pledges, capture, an approved outflow, dissolve."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from crowdpay.tests.fixtures import ALL_SCOPES, client_for
from wallets.integrity import reconcile, verify_chains
from wallets.pods import services
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db
SCOPES = f"{ALL_SCOPES} pod:read pod:write"


def _post(client, url, body=None):
    return client.post(url, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def test_a_trip_pod_end_to_end():
    owner, ana, ben = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pod = WalletFactory(kind="POD", owner_id=owner)
    wallets = {who: funded(amount=500_00, owner_id=who) for who in (owner, ana, ben)}
    o, a, b = (client_for(who, SCOPES) for who in (owner, ana, ben))
    base = f"/v1/pods/{pod.id}"

    assert a.get(base).status_code == 404  # not a member: no pod
    assert o.get(base).json()["id"] == str(pod.id)
    assert _post(o, f"{base}/members", {"member_id": str(ana), "role": "admin"}).status_code == 201
    assert _post(o, f"{base}/members", {"member_id": str(ben)}).status_code == 201
    assert a.get(f"{base}/members").status_code == 404  # invited, not yet a member
    assert _post(a, f"{base}/members/{ana}/accept").status_code == 200
    assert _post(b, f"{base}/members/{ben}/accept").status_code == 200
    refused = _post(b, f"{base}/members", {"member_id": str(uuid.uuid4())})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_for_role")

    deadline = (timezone.now() + timedelta(days=3)).isoformat()
    goal = _post(a, f"{base}/goals", {"amount": 300_00, "currency": "USD", "deadline": deadline, "min_contributors": 2})
    assert goal.status_code == 201, goal.json()
    goal_id = goal.json()["id"]
    for client, who, amount in ((a, ana, 150_00), (b, ben, 150_00)):
        made = _post(
            client, f"{base}/pledges", {"goal_id": goal_id, "wallet_id": str(wallets[who].id), "amount": amount}
        )
        assert made.status_code == 201, made.json()
    services.goal_capture(goal_id=uuid.UUID(goal_id))  # the on-commit task's work
    goals = o.get(f"{base}/goals").json()
    assert (goals[0]["status"], goals[0]["captured_amount"]) == ("REACHED", 300_00)
    late = _post(o, f"{base}/pledges", {"goal_id": goal_id, "wallet_id": str(wallets[owner].id), "amount": 1_00})
    assert (late.status_code, late.json()["code"]) == (422, "goal_reached")
    contributions = {c["member_id"]: c["net"] for c in b.get(f"{base}/contributions").json()}
    assert contributions == {str(ana): 150_00, str(ben): 150_00}

    policy = {"approval_threshold": 50_00, "approvals_required": 2, "approver_roles": ["owner", "admin"]}
    assert _post(o, f"{base}/policy", policy).status_code == 200
    hotel = WalletFactory()
    outflow = _post(b, f"{base}/outflows", {"to_wallet_id": str(hotel.id), "amount": 200_00, "currency": "USD"})
    assert (outflow.status_code, outflow.json()["status"]) == (201, "PENDING")
    approve = f"{base}/outflows/{outflow.json()['id']}/approve"
    denied = _post(b, approve)
    assert (denied.status_code, denied.json()["code"]) == (403, "not_eligible_to_approve")
    assert _post(a, approve).json()["status"] == "PENDING"
    done = _post(o, approve)
    assert (done.status_code, done.json()["status"]) == (200, "EXECUTED")
    assert hotel.balances.get(currency="USD").posted == 200_00

    refunds = _post(o, f"{base}/dissolve")
    assert refunds.status_code == 200, refunds.json()
    assert {r["member_id"]: r["amount"] for r in refunds.json()} == {str(ana): 50_00, str(ben): 50_00}
    assert verify_chains() == []
    assert reconcile() == []


def test_the_last_owner_cannot_leave_a_pod_holding_money():
    owner = uuid.uuid4()
    pod = WalletFactory(kind="POD", owner_id=owner)
    services.pod_ensure(pod_id=pod.id)
    from wallets import services as ledger

    ledger.wallet_credit(wallet_id=pod.id, amount=1_00, currency="USD", reference="seed-pod")
    left = _post(client_for(owner, SCOPES), f"/v1/pods/{pod.id}/members/{owner}/remove")
    assert (left.status_code, left.json()["code"]) == (422, "last_owner")
