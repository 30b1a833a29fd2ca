"""Tampering is caught: verify_events names the altered event, reconcile names the edited balance,
the database refuses to rewrite history, and replay rebuilds the projection."""

import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from wallets import services
from wallets.models import Balance, Event, Wallet
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = pytest.mark.django_db


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def tamper(sql, params):
    """Run raw SQL on the event table with its append-only trigger disabled (test only)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending before ALTER
        cursor.execute("ALTER TABLE wallets_event DISABLE TRIGGER wallets_event_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE wallets_event ENABLE TRIGGER wallets_event_append_only")


def test_clean_ledger_passes_every_check():
    a, b = funded(amount=500), WalletFactory()
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=b.id, amount=5, currency="USD"
    )
    assert run("verify_events")[0] == 0
    assert run("reconcile")[0] == 0
    code, out, _ = run("replay_events", "--dry-run")
    assert code == 0 and "0 differed" in out


def test_database_refuses_update_and_delete_of_events():
    wallet = WalletFactory()
    for statement in ("UPDATE wallets_event SET type = 'X'", "DELETE FROM wallets_event"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Event.objects.filter(wallet=wallet).count() == 1


def test_verify_events_names_the_altered_event():
    wallet = funded(amount=500)
    credited = Event.objects.get(wallet=wallet, type="WalletCredited")
    tamper(
        "UPDATE wallets_event SET data = %s WHERE id = %s",
        [json.dumps({**credited.data, "amount": 50000}), credited.id],
    )
    code, _, err = run("verify_events")
    assert code == 1
    assert f"wallet {wallet.id} event #{credited.version}" in err and "altered" in err
    assert run("verify_events", "--wallet", str(wallet.id))[0] == 1


def test_verify_events_names_a_gap_in_the_stream():
    wallet = funded(amount=500)
    services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="r")
    tamper("DELETE FROM wallets_event WHERE wallet_id = %s AND version = 2", [wallet.id])
    code, _, err = run("verify_events")
    assert code == 1 and "event #3" in err and "version 3 found where 2 was expected" in err


def test_reconcile_names_a_balance_edited_by_hand():
    wallet = funded(amount=500)
    Balance.objects.filter(wallet=wallet).update(posted=900)
    code, out, err = run("reconcile")
    assert code == 1
    assert str(wallet.id) in err and "postings sum to 500" in err
    code, out, _ = run("reconcile", "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert {p["check"] for p in report["problems"]} >= {"postings", "projection"}


def test_reconcile_catches_a_negative_balance_and_an_unbalanced_journal():
    wallet = funded(amount=500)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE wallets_balance DROP CONSTRAINT balance_available_non_negative")
        Balance.objects.filter(wallet=wallet).update(held=600)
        cursor.execute("UPDATE wallets_posting SET amount = amount + 1 WHERE account = 'funding:USD'")
    code, _, err = run("reconcile")
    assert code == 1
    assert "[non_negative]" in err and "[double_entry]" in err and "[holds]" in err


def test_replay_rebuilds_a_corrupted_projection():
    wallet = funded(amount=500)
    services.funds_hold(wallet_id=wallet.id, amount=100, currency="USD", reference="h")
    Balance.objects.filter(wallet=wallet).update(posted=1, held=0)
    Balance.objects.create(wallet=wallet, currency="EUR", posted=0, held=0)
    assert run("replay_events", "--dry-run")[0] == 1
    code, out, _ = run("replay_events", "--wallet", str(wallet.id))
    assert code == 0 and "1 rebuilt" in out
    assert balance_of(wallet) == (500, 100)
    assert run("reconcile")[0] == 0


def test_verify_reports_a_wallet_without_events_and_a_stale_head():
    wallet = WalletFactory()
    Wallet.objects.filter(pk=wallet.id).update(version=5)
    orphan = Wallet(owner_id=uuid.uuid4(), kind="USER", base_currency="USD")
    orphan.save()
    code, _, err = run("verify_events")
    assert code == 1
    assert "stream ends at 1" in err and "WalletOpened is missing" in err


def test_unknown_key_id_is_reported():
    wallet = WalletFactory()
    tamper("UPDATE wallets_event SET key_id = 'gone' WHERE wallet_id = %s", [wallet.id])
    code, _, err = run("verify_events")
    assert code == 1 and "unknown event key id" in err


def test_keys_rotate_old_events_still_verify(settings):
    wallet = funded(amount=500)
    settings.EVENT_HMAC_KEYS = settings.EVENT_HMAC_KEYS + ",k2:" + "s" * 40
    services.wallet_freeze(wallet_id=wallet.id, actor="o", reason="rotated")
    assert Event.objects.filter(wallet=wallet).order_by("-version").first().key_id == "k2"
    assert run("verify_events")[0] == 0


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_the_event_stream_reads_every_event_once_in_order_whatever_the_page_size(batch):
    """On PostgreSQL the pages are pipelined (the next one asked for before this one is folded), and a
    caller's own queries between pages go through the same connection: the stream is still every
    event once, in (wallet, version) order, with the projection's fields, and the caller's reads
    answer right."""
    from wallets.integrity import stream_effect_data

    payer, payee = funded(amount=500), WalletFactory()
    funded(amount=300)  # a third stream
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=payer.id, to_wallet_id=payee.id, amount=7, currency="USD"
    )
    expected = list(Event.objects.order_by("wallet_id", "version").values_list("wallet_id", "version", "type"))
    seen, balances_read = [], []
    with transaction.atomic():  # as reconcile reads it: one snapshot
        for wallet_id, version, type_, data in stream_effect_data(batch=batch):
            seen.append((uuid.UUID(str(wallet_id)), version, type_))
            if type_ == "WalletCredited":
                assert data["amount"] > 0 and data["currency"] == "USD"
                balances_read.append(Balance.objects.filter(wallet_id=wallet_id).count())
    assert seen == [(uuid.UUID(str(w)), v, t) for w, v, t in expected]
    assert balances_read and all(count == 1 for count in balances_read)


def test_a_stream_left_half_read_leaves_the_connection_usable():
    from wallets.integrity import stream_effect_data

    funded(amount=500)
    funded(amount=300)
    stream = stream_effect_data(batch=1)
    next(stream)
    stream.close()
    assert Event.objects.count() >= 2
    assert run("replay_events", "--dry-run")[0] == 0


@pytest.mark.django_db(transaction=True)
def test_replay_rebuilds_wallets_found_in_the_middle_of_a_paged_stream(monkeypatch):
    """As `replay_events` runs it, in autocommit: wallets found wrong while later pages are still
    being read are rebuilt once the stream is closed (each in a transaction of its own, under its
    lock; not while the pipeline is open, where a write's row count is unknown): every corrupted
    projection comes back."""
    from wallets import integrity

    monkeypatch.setitem(integrity.stream_effect_data.__kwdefaults__, "batch", 1)
    monkeypatch.setattr(integrity, "REPLAY_FLUSH_WALLETS", 1)
    wallets = [funded(amount=100 * (n + 1)) for n in range(4)]
    for wallet in wallets[:3]:
        Balance.objects.filter(wallet=wallet).update(posted=1)
    result = integrity.replay()
    assert len(result.mismatches) == 3 and result.repaired == 3
    assert [balance_of(w) for w in wallets] == [(100, 0), (200, 0), (300, 0), (400, 0)]
    assert run("reconcile")[0] == 0
