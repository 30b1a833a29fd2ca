"""The funding claim's foreign key to its saga is checked by its INSERT, not at COMMIT, like the
other saga tables' (0003; the "Lock order" rule in `wallets.ledger`)."""

from django.db import migrations

from crowdpay.migration_ops import foreign_keys_immediate


class Migration(migrations.Migration):
    dependencies = [("sagas", "0004_funding_charges")]
    operations = [foreign_keys_immediate(("sagas_fundingclaim", "saga_id"))]
