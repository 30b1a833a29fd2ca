"""The foreign keys of the chain v2 tables (0007) are checked by their INSERT, not at COMMIT, like the
other write-path keys (0005): a movement upserts its UnsealedHead rows under its wallet locks, and
the sealer inserts EventSeal rows without locking any wallet (see the "Lock order" rule in
`wallets.ledger`). A migration of its own: Django creates 0007's keys only when 0007 ends."""

from django.db import migrations

from crowdpay.migration_ops import foreign_keys_immediate


class Migration(migrations.Migration):
    dependencies = [("wallets", "0007_chain_v2")]
    operations = [foreign_keys_immediate(("wallets_eventseal", "wallet_id"), ("wallets_unsealedhead", "wallet_id"))]
