"""The movement executor of the ledger engine v2 on PostgreSQL (`ledger_execute(plan jsonb)`, the
SQL in wallets/sql/ledger_execute.sql, see `wallets.executor`) and the velocity buckets it keeps in
the base currency (`VELOCITY_BASE_CURRENCY`). Elsewhere (SQLite) the function is not installed: the
ORM executor runs the same plan."""

from pathlib import Path

from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql" / "ledger_execute.sql"


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL.read_text(), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_execute(jsonb)", params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0008_chain_v2_fks_immediate")]

    operations = [
        migrations.CreateModel(
            name="VelocityBucket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("wallet_id", models.UUIDField()),
                ("minute", models.BigIntegerField(help_text="minutes since the Unix epoch")),
                ("amount", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("wallet_id", "minute"), name="velocitybucket_uniq")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
