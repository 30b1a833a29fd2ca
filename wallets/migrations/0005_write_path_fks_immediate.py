"""The foreign keys the ledger's write path inserts under are checked by their INSERT, not at COMMIT:
a deferred check took a KEY SHARE lock outside the ascending-id lock order (issue 16). See the
"Lock order" rule in `wallets.ledger`."""

from django.db import migrations

from crowdpay.migration_ops import foreign_keys_immediate


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_fxquote")]
    operations = [
        foreign_keys_immediate(
            ("wallets_event", "wallet_id"),
            ("wallets_balance", "wallet_id"),
            ("wallets_hold", "wallet_id"),
            ("wallets_posting", "wallet_id"),
            ("wallets_posting", "journal_id"),
            ("wallets_fxquote", "wallet_id"),
            ("wallets_fxquote", "journal_id"),
        )
    ]
