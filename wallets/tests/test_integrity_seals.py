"""Chain v2's seals: what someone with write access to the database but without the key can and
cannot do unnoticed (README "Sealing window"), and how the sealer stays out of the movements' way.

The tampering tests disable the event table's append-only trigger inside the test, as an attacker
owning the database could, and recompute the unkeyed links and the wallet's head as such an attacker
would: only the macs and the seals need the key."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from wallets import chain, integrity, sealing, services
from wallets.models import Event, EventSeal, UnsealedHead, Wallet
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _busy_wallet() -> Wallet:
    """A wallet with a stream of six events: opened, credited, and two transfers out."""
    wallet, other = funded(amount=1_000), WalletFactory()
    for amount in (10, 20):
        services.transfer_execute(
            transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=amount, currency="USD"
        )
    wallet.refresh_from_db()
    assert wallet.version >= 4
    return wallet


def _rewrite(wallet_id, statements):
    """As an attacker with database access and no key: run `statements` on the event table with its
    trigger disabled, then recompute every link of the stream and the wallet's head from the macs."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE wallets_event DISABLE TRIGGER wallets_event_append_only")
        for sql, params in statements:
            cursor.execute(sql, params)
        link, version = chain.GENESIS_LINK, 0
        for event_id, version, mac in (
            Event.objects.filter(wallet_id=wallet_id).order_by("version").values_list("id", "version", "mac")
        ):
            link = chain.next_link(link, mac, version)
            cursor.execute("UPDATE wallets_event SET link = %s WHERE id = %s", [link, event_id])
        cursor.execute("ALTER TABLE wallets_event ENABLE TRIGGER wallets_event_append_only")
    Wallet.objects.filter(pk=wallet_id).update(version=version, head_link=link)


def test_a_movement_queues_its_wallets_and_the_sealer_certifies_their_heads():
    wallet = _busy_wallet()
    assert UnsealedHead.objects.get(wallet_id=wallet.id).version == wallet.version
    assert sealing.seal_all() >= 2
    seal = EventSeal.objects.filter(wallet_id=wallet.id).order_by("-version").first()
    assert (seal.version, seal.link) == (wallet.version, wallet.head_link)
    assert seal.seal == chain.seal_mac(seal.key_id, wallet.id, seal.version, seal.link)
    assert not UnsealedHead.objects.exists()
    assert sealing.seal_heads() == 0  # nothing queued: nothing sealed twice
    result = integrity.verify()
    assert result.problems == [] and result.tails == [] and result.seals >= 2
    code, out, _ = run("verify_events")
    assert code == 0 and "unsealed wallet" not in out and "0 unsealed" in out


def test_seal_events_command_drains_the_queue_in_batches():
    wallets = [funded(amount=5) for _ in range(5)]
    code, out, _ = run("seal_events", "--batch", "2")
    assert code == 0 and "sealed 5 wallet head(s)" in out
    assert set(EventSeal.objects.values_list("wallet_id", flat=True)) == {w.id for w in wallets}


def test_a_bounded_drain_leaves_the_rest_to_the_next_run():
    from wallets import tasks

    for _ in range(5):
        funded(amount=5)
    assert sealing.seal_all(batch=2, rounds=1) == 2
    assert UnsealedHead.objects.count() == 3
    assert tasks.seal_heads() == 3  # the beat task's run (in this process)
    assert not UnsealedHead.objects.exists()


def test_a_newer_head_queued_meanwhile_keeps_its_queue_row():
    wallet = funded(amount=5)
    # As if a movement queued version 9 while this head (version 2) was being sealed.
    UnsealedHead.objects.filter(wallet_id=wallet.id).update(version=9)
    assert sealing.seal_heads() == 1
    assert EventSeal.objects.get(wallet_id=wallet.id).version == 2
    assert UnsealedHead.objects.get(wallet_id=wallet.id).version == 9


def test_changed_event_data_breaks_its_mac():
    wallet = _busy_wallet()
    sealing.seal_all()
    credited = Event.objects.get(wallet=wallet, type="WalletCredited")
    _rewrite(
        wallet.id,
        [
            (
                "UPDATE wallets_event SET data = %s WHERE id = %s",
                [json.dumps({**credited.data, "amount": 9}), credited.id],
            )
        ],
    )
    code, _, err = run("verify_events")
    assert code == 1
    assert f"wallet {wallet.id} event #{credited.version}" in err and "altered" in err


def test_two_events_swapped_with_their_links_recomputed_are_caught_by_the_seal():
    wallet = _busy_wallet()
    sealing.seal_all()
    # Every mac still verifies (a mac does not cover the version) and every link is recomputed:
    # only the seal, made with the key, still knows the old order.
    swap = "UPDATE wallets_event SET version = %s WHERE wallet_id = %s AND version = %s"
    _rewrite(wallet.id, [(swap, [10_000, wallet.id, 3]), (swap, [3, wallet.id, 4]), (swap, [4, wallet.id, 10_000])])
    result = integrity.verify()
    assert [p.check for p in result.problems] == ["seal"]
    assert "differs from its seal" in result.problems[0].detail
    code, _, err = run("verify_events", "--wallet", str(wallet.id))
    assert code == 1 and "rewritten at or before it" in err


def test_a_deleted_tail_with_the_head_rewound_is_caught_by_the_seal_left_behind():
    wallet = _busy_wallet()
    sealing.seal_all()
    _rewrite(wallet.id, [("DELETE FROM wallets_event WHERE wallet_id = %s AND version > %s", [wallet.id, 2])])
    assert Wallet.objects.get(pk=wallet.id).version == 2  # links and head consistent again
    code, _, err = run("verify_events")
    assert code == 1
    assert f"sealed version {wallet.version} is past the end of the stream (#2): events were deleted" in err


def test_deleted_seals_leave_a_tail_that_is_reported_once_older_than_the_window(monkeypatch, settings):
    wallet = _busy_wallet()
    sealing.seal_all()
    EventSeal.objects.filter(wallet_id=wallet.id).delete()
    settings.EVENT_SEAL_MAX_AGE_SECONDS = 60
    assert run("verify_events")[0] == 0  # within the window: just unsealed
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(integrity, "_now", lambda: later)
    code, _, err = run("verify_events")
    assert code == 1
    assert f"wallet {wallet.id} event #1" in err and "seals were deleted or the sealer is down" in err


def test_a_fresh_unsealed_tail_is_reported_as_unsealed_not_as_tampering():
    wallet = _busy_wallet()
    code, out, err = run("verify_events")
    assert code == 0 and err == ""
    assert f"unsealed wallet {wallet.id} events #1..#{wallet.version}" in out
    code, out, _ = run("verify_events", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["problems"] == []
    tail = next(t for t in report["unsealed"] if t["wallet_id"] == str(wallet.id))
    assert (tail["first_version"], tail["last_version"], tail["stale"]) == (1, wallet.version, False)
    assert 0 <= tail["age_seconds"] < 60
    services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="r")  # after a seal, only the new event
    sealing.seal_all()
    services.wallet_unfreeze(wallet_id=wallet.id, actor="o", reason="r")
    tails = {t.wallet_id: t for t in integrity.verify().tails}
    assert (tails[str(wallet.id)].first_version, tails[str(wallet.id)].last_version) == (
        wallet.version + 2,
        wallet.version + 2,
    )


def test_a_forged_seal_and_a_seal_of_an_unknown_key_are_failures():
    wallet = _busy_wallet()
    sealing.seal_all()
    seal = EventSeal.objects.get(wallet_id=wallet.id)
    # An attacker's own seal of a rewritten head: without the key, its HMAC cannot match.
    EventSeal.objects.filter(pk=seal.pk).update(seal="0" * 64)
    code, _, err = run("verify_events")
    assert code == 1 and "does not match its HMAC: it was forged" in err
    EventSeal.objects.filter(pk=seal.pk).update(key_id="gone")
    code, _, err = run("verify_events")
    assert code == 1 and "unknown event key id 'gone'" in err


def test_seals_made_with_a_rotated_key_still_verify(settings):
    wallet = funded(amount=5)
    sealing.seal_all()
    settings.EVENT_HMAC_KEYS = settings.EVENT_HMAC_KEYS + ",k2:" + "s" * 40
    services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="rotated")
    sealing.seal_all()
    assert (
        list(EventSeal.objects.filter(wallet_id=wallet.id).order_by("version").values_list("key_id", flat=True))[-1]
        == "k2"
    )
    assert run("verify_events")[0] == 0


def test_seal_after_commit_seals_when_celery_runs_eagerly(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        wallet = funded(amount=5)
        sealing.seal_after_commit()
    assert EventSeal.objects.filter(wallet_id=wallet.id, version=2).exists()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sealing.seal_after_commit()
    assert callbacks == []  # with a broker, the beat task seals


def test_the_beat_schedule_runs_the_sealer_every_interval(settings):
    from crowdpay.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["wallets-seal-heads"]
    assert entry["task"] == "wallets.tasks.seal_heads" and entry["schedule"] == settings.EVENT_SEAL_INTERVAL_SECONDS
    app.loader.import_default_modules()
    assert "wallets.tasks.seal_heads" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_the_sealer_takes_no_wallet_lock_and_skips_a_head_being_written():
    """A movement holding its wallet `FOR NO KEY UPDATE` does not stop the sealer (its foreign-key
    check takes only KEY SHARE); a queue row a movement is upserting right now is skipped, not
    waited for."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    held, other = funded(amount=5), funded(amount=5)
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def movement_in_flight():
        try:
            with transaction.atomic():
                Wallet.objects.select_for_update(no_key=True).get(pk=held.id)
                UnsealedHead.objects.select_for_update().get(pk=other.id)  # as its upsert would hold it
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=movement_in_flight)
    thread.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait would fail the test, not hang it
        assert sealing.seal_heads() == 1
        assert EventSeal.objects.filter(wallet_id=held.id).exists()  # its wallet row is locked: sealed anyway
        assert not EventSeal.objects.filter(wallet_id=other.id).exists()  # its queue row is busy: skipped
        assert UnsealedHead.objects.filter(wallet_id=other.id).exists()
    finally:
        release.set()
        thread.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert sealing.seal_heads() == 1  # its turn comes at the next run
    assert integrity.verify().tails == []


def test_wallets_seals_and_events_merge_across_keyset_pages(monkeypatch):
    """The three streams are paged separately (BATCH rows at a time) and merged by wallet: pages
    that end mid-wallet lose nothing and pair nothing wrongly."""
    wallets = [_busy_wallet() for _ in range(3)]
    sealing.seal_all()
    services.wallet_freeze(wallet_id=wallets[1].id, actor="o", reason="r")  # one unsealed tail
    monkeypatch.setattr(integrity, "BATCH", 2)
    result = integrity.verify()
    assert result.events == Event.objects.count() and result.seals == EventSeal.objects.count()
    assert [(t.wallet_id, t.first_version) for t in result.tails] == [(str(wallets[1].id), wallets[1].version + 1)]
    assert result.problems == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_seal_events_every_keeps_sealing_until_stopped():
    """`seal_events --every`: a sealer without Celery, as the bench runs one beside its parts."""
    if connection.vendor != "postgresql":
        pytest.skip("a second process on the test database: PostgreSQL")
    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'] or '')}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(DATABASE_URL=url, LOG_LEVEL="WARNING")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "seal_events", "--every", "0.2"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wallet = funded(amount=5)
        deadline = time.monotonic() + 60
        while not EventSeal.objects.filter(wallet_id=wallet.id).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert EventSeal.objects.filter(wallet_id=wallet.id, version=2).exists()
        services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="r")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "sealed" in out
    # the head written just before the stop is sealed on the way out, or by the loop before it
    assert EventSeal.objects.filter(wallet_id=wallet.id, version=3).exists()
    assert not UnsealedHead.objects.exists()
