"""wallets.0007 re-links streams written before chain v2: on a database migrated to 0006 and filled
with old-style events (prev_hash/hash), `migrate` gives every event a uid, a mac and a link, every
wallet its head_link and a seal of it, and `verify_events` passes right after, with no sealer run.

In a fresh process on a database of its own (the test database is already at the latest migration),
on embedded SQLite and, when the suite runs on PostgreSQL, on a scratch PostgreSQL database too."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SCRIPT = """
import io, json, uuid
from datetime import UTC, datetime, timedelta
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

call_command("migrate", "auth", verbosity=0)  # post_migrate receivers (compliance roles) need auth's models
call_command("migrate", "wallets", "0006_alter_hold_purpose", verbosity=0)
apps = MigrationExecutor(connection).loader.project_state(("wallets", "0006_alter_hold_purpose")).apps
Wallet, Event = apps.get_model("wallets", "Wallet"), apps.get_model("wallets", "Event")
start = datetime(2026, 1, 1, tzinfo=UTC)
lengths = [3, 1, 7, 0, 12]  # a wallet with no event is left alone (verify reports it: not here)
for n, length in enumerate(lengths[:3] + lengths[4:]):
    wallet = Wallet.objects.create(owner_id=uuid.uuid4(), kind="USER", base_currency="USD", version=length,
                                   head_hash=f"{n:064x}")
    for version in range(1, length + 1):
        Event.objects.create(wallet=wallet, version=version, type="WalletCredited",
                             data={"amount": version, "currency": "USD", "note": "ü"},
                             occurred_at=start + timedelta(seconds=version), key_id="old",
                             prev_hash="a" * 64, hash="b" * 64)
call_command("migrate", verbosity=0)

from wallets import chain
from wallets.models import Event as NewEvent, EventSeal, UnsealedHead, Wallet as NewWallet
out, err = io.StringIO(), io.StringIO()
call_command("verify_events", "--json", stdout=out, stderr=err)
report = json.loads(out.getvalue())
heads = {str(w.id): (w.version, w.head_link) for w in NewWallet.objects.all()}
seals = {str(s.wallet_id): (s.version, s.link) for s in EventSeal.objects.all()}
print(json.dumps({
    "ok": report["ok"], "events": report["events"], "seals": report["seals"], "unsealed": report["unsealed"],
    "heads_sealed": heads == seals, "queued": UnsealedHead.objects.count(),
    "key_ids": sorted(set(NewEvent.objects.values_list("key_id", flat=True))),
    "current_key": chain.key_ring().current_id,
    "uids": NewEvent.objects.values("uid").distinct().count(),
}))
"""


def _run(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="crowdpay.settings.base", LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(result: dict) -> None:
    assert result["ok"] is True and result["unsealed"] == [], result
    assert result["events"] == 3 + 1 + 7 + 12 == result["uids"]
    assert result["seals"] == 4 and result["heads_sealed"] and result["queued"] == 0
    assert result["key_ids"] == [result["current_key"]]


def test_relink_on_sqlite(tmp_path):
    _check(_run(f"sqlite:///{tmp_path / 'relink.sqlite3'}"))


def test_relink_on_postgresql():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the suite does not run on PostgreSQL")
    parts = urlsplit(url)
    name = f"test_{parts.path.lstrip('/') or 'crowdpay'}_relink"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _check(_run(urlunsplit(parts._replace(path=f"/{name}"))))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
