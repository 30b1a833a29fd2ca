"""Chain v2 (issue 18): each event carries a uid, a keyed `mac` of its content and an unkeyed `link`
to the previous event (see wallets.chain); `Wallet.head_hash` becomes `head_link`; `EventSeal`
checkpoints and the `UnsealedHead` queue of the sealer are added.

Existing streams are re-linked: for each wallet in id order, its events in version order get a new
uid, a mac made with the current key (key_id set to it) and their link; the wallet's head_link is
the last link, and the migration seals that head itself (an EventSeal row: it holds the key, so
verify_events passes right after it with no sealer running yet). One pass over the event table in
(wallet, version) order through a server-side cursor, one UPDATE per few thousand events. The
event table's append-only trigger (wallets.0002) is disabled for this and enabled again (PostgreSQL;
SQLite has no such trigger). Not reversible: the old keyed hashes cannot be recomputed here.
The new tables' foreign keys are made immediate by 0008 (Django adds them at the end of this one).
"""

import uuid

from django.db import migrations, models
from django.utils import timezone

BATCH = 5000  # events per UPDATE; and wallets per head UPDATE / seal INSERT
TRIGGER = "wallets_event_append_only"

_EVENT_FIELDS = ("id", "wallet_id", "version", "type", "data", "occurred_at")


def _update_events(schema_editor, Event, alias: str, key_id: str, rows: list[tuple]) -> None:
    """One statement per batch: rows are (event id, uid, mac, link)."""
    if schema_editor.connection.vendor != "postgresql":
        Event.objects.using(alias).bulk_update(
            [Event(id=i, uid=u, key_id=key_id, mac=m, link=lk) for i, u, m, lk in rows],
            ["uid", "key_id", "mac", "link"],
            batch_size=500,
        )
        return
    values = ", ".join(["(%s::bigint, %s::uuid, %s, %s)"] * len(rows))
    sql = f"UPDATE wallets_event AS e SET uid = v.uid, key_id = %s, mac = v.mac, link = v.link FROM (VALUES {values})"  # noqa: S608 - only placeholders are formatted in
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            sql + " AS v (id, uid, mac, link) WHERE e.id = v.id", [key_id, *(value for row in rows for value in row)]
        )


def _close_streams(schema_editor, apps, alias: str, key_id: str, now, heads: list[tuple]) -> None:
    """Set each relinked wallet's head_link and seal its head: heads are (wallet id, version, link)."""
    from wallets import chain

    Wallet = apps.get_model("wallets", "Wallet")
    EventSeal = apps.get_model("wallets", "EventSeal")
    if schema_editor.connection.vendor == "postgresql":
        values = ", ".join(["(%s::uuid, %s)"] * len(heads))
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE wallets_wallet AS w SET head_link = v.link FROM (VALUES {values}) AS v (id, link)"  # noqa: S608
                " WHERE w.id = v.id",
                [value for wallet_id, _, link in heads for value in (wallet_id, link)],
            )
    else:
        Wallet.objects.using(alias).bulk_update(
            [Wallet(id=wallet_id, head_link=link) for wallet_id, _, link in heads], ["head_link"], batch_size=500
        )
    EventSeal.objects.using(alias).bulk_create(
        [
            EventSeal(
                wallet_id=wallet_id,
                version=version,
                link=link,
                key_id=key_id,
                seal=chain.seal_mac(key_id, wallet_id, version, link),
                sealed_at=now,
            )
            for wallet_id, version, link in heads
        ],
        batch_size=1000,
    )


def relink(apps, schema_editor):
    """Re-link every stream in one pass over the event table in (wallet, version) order, read through
    a server-side cursor (`iterator()`: memory stays flat however many events there are), written
    back one `UPDATE ... FROM (VALUES ...)` per BATCH events; then each wallet's head_link and a seal
    of its head, BATCH wallets per statement. Measured on 250,020 events of 2,000 wallets: see
    bench/README.md ("Chain v2 migration at scale").

    The migration holds the key (it makes the macs), so it seals each re-linked head itself rather
    than queueing it for the sealer: `verify_events` passes right after `migrate`, with no sealer
    running yet and however long the migration took (a queued head older than
    EVENT_SEAL_MAX_AGE_SECONDS would otherwise be reported as tampering)."""
    from wallets import chain

    Event = apps.get_model("wallets", "Event")
    alias = schema_editor.connection.alias
    postgres = schema_editor.connection.vendor == "postgresql"
    key_id = chain.key_ring().current_id
    now = timezone.now()
    if postgres:
        schema_editor.execute(f"ALTER TABLE wallets_event DISABLE TRIGGER {TRIGGER}")
    try:
        events: list[tuple] = []
        heads: list[tuple] = []
        current, link, version = None, chain.GENESIS_LINK, 0
        rows = (
            Event.objects.using(alias)
            .order_by("wallet_id", "version")
            .values_list(*_EVENT_FIELDS)
            .iterator(chunk_size=BATCH)
        )
        for event_id, wallet_id, event_version, type_, data, occurred_at in rows:
            if wallet_id != current:
                if current is not None:
                    heads.append((current, version, link))
                current, link = wallet_id, chain.GENESIS_LINK
            uid = uuid.uuid4()
            mac = chain.event_mac(key_id, wallet_id, uid, type_, data, occurred_at)
            link, version = chain.next_link(link, mac, event_version), event_version
            events.append((event_id, uid, mac, link))
            if len(events) >= BATCH:
                _update_events(schema_editor, Event, alias, key_id, events)
                events = []
            if len(heads) >= BATCH:
                _close_streams(schema_editor, apps, alias, key_id, now, heads)
                heads = []
        if current is not None:
            heads.append((current, version, link))
        if events:
            _update_events(schema_editor, Event, alias, key_id, events)
        if heads:
            _close_streams(schema_editor, apps, alias, key_id, now, heads)
    finally:
        if postgres:
            schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check pending before ALTER
            schema_editor.execute(f"ALTER TABLE wallets_event ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [("wallets", "0006_alter_hold_purpose")]

    operations = [
        migrations.CreateModel(
            name="EventSeal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField()),
                ("link", models.CharField(max_length=64)),
                ("key_id", models.CharField(max_length=32)),
                ("seal", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField()),
                (
                    "wallet",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="seals",
                        to="wallets.wallet",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("wallet", "version"), name="eventseal_wallet_version_uniq")
                ],
            },
        ),
        migrations.CreateModel(
            name="UnsealedHead",
            fields=[
                (
                    "wallet",
                    models.OneToOneField(
                        on_delete=models.deletion.PROTECT,
                        primary_key=True,
                        related_name="unsealed_head",
                        serialize=False,
                        to="wallets.wallet",
                    ),
                ),
                ("version", models.BigIntegerField()),
                ("since", models.DateTimeField()),
            ],
        ),
        migrations.RenameField(model_name="wallet", old_name="head_hash", new_name="head_link"),
        migrations.AddField(model_name="event", name="uid", field=models.UUIDField(null=True)),
        migrations.AddField(model_name="event", name="mac", field=models.CharField(max_length=64, null=True)),
        migrations.AddField(model_name="event", name="link", field=models.CharField(max_length=64, null=True)),
        migrations.RunPython(relink, elidable=False),
        migrations.RemoveField(model_name="event", name="prev_hash"),
        migrations.RemoveField(model_name="event", name="hash"),
        migrations.AlterField(model_name="event", name="uid", field=models.UUIDField()),
        migrations.AlterField(model_name="event", name="mac", field=models.CharField(max_length=64)),
        migrations.AlterField(model_name="event", name="link", field=models.CharField(max_length=64)),
    ]
