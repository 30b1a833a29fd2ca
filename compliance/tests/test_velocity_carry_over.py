"""compliance.0008 carries the last 24 hours of per-currency outflow buckets over into the ledger's
base-currency buckets (wallets.VelocityBucket), so a deploy never resets anyone's velocity window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, time, uuid
from decimal import Decimal
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

before = [
    ("compliance", "0007_admin_list_indexes"),
    ("wallets", "0009_ledger_execute"),
    ("sagas", "0007_admin_list_indexes"),
]
call_command("migrate", "auth", verbosity=0)
for app, name in before:
    call_command("migrate", app, name, verbosity=0)
apps = MigrationExecutor(connection).loader.project_state(before).apps
Wallet = apps.get_model("wallets", "Wallet")
OutflowBucket = apps.get_model("compliance", "OutflowBucket")
FxRate = apps.get_model("sagas", "FxRate")
wallet = Wallet.objects.create(id=uuid.uuid4(), owner_id=uuid.uuid4(), kind="USER", base_currency="USD")
now = int(time.time()) // 60
FxRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.1"))
OutflowBucket.objects.create(wallet_id=wallet.id, currency="USD", minute=now - 10, amount=100_00)
OutflowBucket.objects.create(wallet_id=wallet.id, currency="EUR", minute=now - 10, amount=10_01)
OutflowBucket.objects.create(wallet_id=wallet.id, currency="JPY", minute=now - 5, amount=500)
OutflowBucket.objects.create(wallet_id=wallet.id, currency="USD", minute=now - 2000, amount=999_00)
call_command("migrate", verbosity=0)
from wallets.models import VelocityBucket
rows = {str(m - now): a for m, a in VelocityBucket.objects.filter(wallet_id=wallet.id).values_list("minute", "amount")}
print(json.dumps(rows))
"""


def test_the_last_day_of_outflow_carries_over_in_the_base_currency(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'carry.sqlite3'}",
        DJANGO_SETTINGS_MODULE="crowdpay.settings.base",
        LOG_LEVEL="WARNING",
        VELOCITY_BASE_CURRENCY="USD",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    # 100.00 USD + 10.01 EUR at 1.1 = 11.011 USD, rounded up to 11.02; JPY has no rate (left out);
    # the bucket older than the window is not carried
    assert rows == {"-10": 100_00 + 11_02}
