"""The ledger reads a wallet's own 24 h outflow limit under the wallet's lock by calling
`wallet_outflow_limit(uuid)` (wallets.limits, wallets 0011): its body becomes the read of
`compliance.WalletLimit`, the table compliance owns. The Python twin for the ORM executor is
`compliance.velocity.own_limit`; a test checks that both answer alike."""

from django.db import migrations

OWN_LIMIT = """
CREATE OR REPLACE FUNCTION wallet_outflow_limit(wallet uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT l.daily_limit FROM compliance_walletlimit l WHERE l.wallet_id = wallet);
END;
$fn$
"""

NO_OWN_LIMIT = """
CREATE OR REPLACE FUNCTION wallet_outflow_limit(wallet uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $fn$ BEGIN RETURN NULL; END; $fn$
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OWN_LIMIT, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_OWN_LIMIT, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0008_delete_outflowbucket"),
        ("wallets", "0011_outflow_limit_under_lock"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
