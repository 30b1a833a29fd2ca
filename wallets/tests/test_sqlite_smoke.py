"""The embedded default: with no DATABASE_URL and no REDIS_URL the main ledger flows, a balance
monitor's message, and a pod's pledge, run on SQLite."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FLOWS = """
import uuid
from wallets import services
from wallets.integrity import reconcile
a = services.wallet_open(owner_id=uuid.uuid4(), kind="USER", base_currency="USD")
pod = services.wallet_open(owner_id=uuid.uuid4(), kind="POD", base_currency="USD")
services.wallet_credit(wallet_id=a.id, amount=500_00, currency="USD", reference="smoke-credit")
services.transfer_execute(
    transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=pod.id, amount=100_00, currency="USD"
)
hold = services.funds_hold(wallet_id=a.id, amount=50_00, currency="USD", reference="smoke-hold")
services.hold_capture(hold_id=hold.id)
services.wallet_freeze(wallet_id=pod.id, actor="smoke", reason="smoke")
assert reconcile() == [], reconcile()
print("balances", a.balances.get().posted, pod.balances.get().posted)

# A balance monitor: the ORM executor writes its message with the movement (wallets.monitors).
from crowdpay.webhooks import services as hooks
from crowdpay.webhooks.models import Message
hooks.endpoint_create(owner_id=a.owner_id, url="http://127.0.0.1:9/hooks", event_types=["wallet.balance_below"])
hooks.monitor_create(wallet=a, currency="USD", direction="BELOW", threshold=300_00)
services.transfer_execute(
    transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=pod.id, amount=100_00, currency="USD"
)
told = Message.objects.get(type="wallet.balance_below").data
print("monitor", told["previous_available"], told["available"])

# A pledge reads its goal's deadline back by raw SQL: SQLite answers it without an offset.
from datetime import timedelta
from django.utils import timezone
from wallets.pods import services as pods
owner = uuid.uuid4()
trip = services.wallet_open(owner_id=owner, kind="POD", base_currency="USD")
mine = services.wallet_open(owner_id=owner, kind="USER", base_currency="USD")
services.wallet_credit(wallet_id=mine.id, amount=50_00, currency="USD", reference="smoke-pod-credit")
pods.pod_ensure(pod_id=trip.id)
goal = pods.goal_set(pod_id=trip.id, actor_id=owner, amount=100_00, currency="USD",
                     deadline=timezone.now() + timedelta(days=1))
pledge = pods.pledge_make(pod_id=trip.id, goal_id=goal.id, member_id=owner, wallet_id=mine.id, amount=30_00,
                          reference="smoke-pledge")
assert reconcile() == [], reconcile()
print("pledge", pledge.amount, mine.balances.get().held)
"""


def test_main_flows_on_embedded_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'smoke.sqlite3'}"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    migrated = run("migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    flows = run("shell", "-c", FLOWS)
    assert flows.returncode == 0, flows.stderr
    assert "balances 35000 10000" in flows.stdout
    assert "monitor 35000 25000" in flows.stdout
    assert "pledge 3000 3000" in flows.stdout
    for command in ("reconcile", "verify_events"):
        result = run(command)
        assert result.returncode == 0, result.stderr
