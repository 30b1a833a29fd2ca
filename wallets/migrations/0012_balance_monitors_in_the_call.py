"""The balance monitors are decided inside `ledger_execute`, on the balances it has locked, not by a
query after it (`wallets.monitors`): this installs `ledger_balance_moved(jsonb, timestamptz)`, which
writes no message (0) until webhooks' migration 0002 gives it its body, and then the executor
again (wallets/sql/ledger_execute.sql), which calls it after its writes and answers how many
messages it wrote. PostgreSQL only: the ORM executor asks `wallets.monitors.moved` instead."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "ledger_execute.sql"

NO_MONITORS = """
CREATE OR REPLACE FUNCTION ledger_balance_moved(moved jsonb, now_ts timestamptz) RETURNS int
LANGUAGE plpgsql AS $fn$ BEGIN RETURN 0; END; $fn$
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_MONITORS, params=None)
        schema_editor.execute(SQL.read_text(), params=None)


def uninstall(apps, schema_editor):
    # The executor as installed calls the stub, which writes nothing: it stays.
    pass


class Migration(migrations.Migration):
    dependencies = [("wallets", "0011_outflow_limit_under_lock")]

    operations = [migrations.RunPython(install, uninstall)]
