"""The wallet's own 24 h outflow limit is read under the wallet's lock, inside `ledger_execute`, not
before it (`wallets.limits`): this installs `wallet_outflow_limit(uuid)`, which answers NULL (no
wallet has a limit of its own) until compliance's migration 0009 gives it its body, and then the
executor again (wallets/sql/ledger_execute.sql). PostgreSQL only: the ORM executor asks
`wallets.limits.own` instead."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "ledger_execute.sql"

# PL/pgSQL rather than SQL: its one statement's plan is cached for the session (a SQL function that
# reads a table is planned again at every call).
NO_OWN_LIMIT = """
CREATE OR REPLACE FUNCTION wallet_outflow_limit(wallet uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $fn$ BEGIN RETURN NULL; END; $fn$
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_OWN_LIMIT, params=None)
        schema_editor.execute(SQL.read_text(), params=None)


def uninstall(apps, schema_editor):
    # The executor as installed reads plans without `own_limit` as before (the default limit only).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS wallet_outflow_limit(uuid)", params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0010_admin_list_indexes")]

    operations = [migrations.RunPython(install, uninstall)]
