"""The event table refuses UPDATE and DELETE on PostgreSQL: each stream is append-only."""

from django.db import migrations

from crowdpay.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]
    operations = [append_only("wallets_event")]
