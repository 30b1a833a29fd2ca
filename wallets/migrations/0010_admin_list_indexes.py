"""Indexes for the back-office at scale (issue 21): the event type filter in the list's own order
(type, wallet, version), and the wallet list by creation and by status. Plain CREATE INDEX: on a
live database of a million events it holds a write lock on the table for the build (seconds)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wallets", "0009_ledger_execute")]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["type", "wallet", "version"], name="event_type_wallet_version"),
        ),
        migrations.AddIndex(
            model_name="wallet",
            index=models.Index(fields=["created_at"], name="wallet_created_at"),
        ),
        migrations.AddIndex(
            model_name="wallet",
            index=models.Index(fields=["status", "created_at"], name="wallet_status_created"),
        ),
    ]
