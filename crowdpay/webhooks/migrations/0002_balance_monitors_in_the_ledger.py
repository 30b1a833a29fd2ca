"""The ledger decides the balance monitors inside its one call, on the balances it has locked, by
calling `ledger_balance_moved(moved jsonb, now_ts timestamptz)` (wallets.monitors, wallets 0012):
its body becomes one INSERT … SELECT of a message for each monitor whose threshold a moved balance
crossed, when an enabled endpoint of the monitor's owner subscribes to that event type
(crowdpay.webhooks.outbox `_SUBSCRIBED`). `moved` holds `[wallet, currency, available before,
available after]` per changed balance; the messages' data and order are those of the Python twin
for the ORM executor, `crowdpay.webhooks.outbox.balances_moved`; a test checks that both write
alike. It reads the monitors and endpoints (no lock) and inserts into the message table, which has
no foreign key: it locks nothing."""

from django.db import migrations

# The monitors are reached through their wallet index by the array of moved wallets (`= ANY`):
# joined to the set of `moved` alone, a cached generic plan (which guesses 100 rows for it) reads
# the whole table once it is big.
MONITORS = """
CREATE OR REPLACE FUNCTION ledger_balance_moved(moved jsonb, now_ts timestamptz) RETURNS int
LANGUAGE plpgsql AS $fn$
DECLARE
    n int;
BEGIN
    INSERT INTO webhooks_message (uid, owner_id, wallet_id, type, data, created_at)
    SELECT gen_random_uuid(), m.owner_id, m.wallet_id, c.type,
           jsonb_build_object('monitor_id', m.id, 'wallet_id', m.wallet_id, 'currency', m.currency,
                              'direction', lower(m.direction), 'threshold', m.threshold,
                              'previous_available', c.before, 'available', c.after),
           now_ts
      FROM webhooks_monitor m
      JOIN jsonb_array_elements(moved) AS x(b) ON m.wallet_id = (x.b->>0)::uuid AND m.currency = x.b->>1
     CROSS JOIN LATERAL (SELECT (x.b->>2)::bigint AS before, (x.b->>3)::bigint AS after,
                                CASE m.direction WHEN 'BELOW' THEN 'wallet.balance_below'
                                                 ELSE 'wallet.balance_above' END AS type) c
     WHERE m.wallet_id = ANY(ARRAY(SELECT (v->>0)::uuid FROM jsonb_array_elements(moved) v))
       AND CASE m.direction WHEN 'BELOW' THEN c.before >= m.threshold AND m.threshold > c.after
                            ELSE c.before <= m.threshold AND m.threshold < c.after END
       AND EXISTS (SELECT FROM webhooks_endpoint e WHERE e.owner_id = m.owner_id AND e.status = 'ENABLED'
                   AND e.event_types ? c.type)
     ORDER BY m.created_at, m.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$fn$
"""

NO_MONITORS = """
CREATE OR REPLACE FUNCTION ledger_balance_moved(moved jsonb, now_ts timestamptz) RETURNS int
LANGUAGE plpgsql AS $fn$ BEGIN RETURN 0; END; $fn$
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MONITORS, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_MONITORS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("wallets", "0012_balance_monitors_in_the_call"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
