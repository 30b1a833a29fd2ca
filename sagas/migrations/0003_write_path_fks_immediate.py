"""A saga row rides in its first ledger movement's transaction (an instant transfer's, in its very
write batch): its foreign keys, and its steps' and payout's, are checked by their INSERT, not at
COMMIT (issue 16; see the "Lock order" rule in `wallets.ledger`)."""

from django.db import migrations

from crowdpay.migration_ops import foreign_keys_immediate


class Migration(migrations.Migration):
    dependencies = [("sagas", "0002_alter_saga_state")]
    operations = [
        foreign_keys_immediate(
            ("sagas_saga", "wallet_id"),
            ("sagas_saga", "counterparty_wallet_id"),
            ("sagas_sagastep", "saga_id"),
            ("sagas_payout", "saga_id"),
        )
    ]
