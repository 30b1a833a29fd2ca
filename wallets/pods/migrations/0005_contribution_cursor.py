"""Contributions are folded from each pod's stream after the movement, not written by it
(wallets.pods.contributions): a cursor per pod says up to which version its rows are folded.

The rows written until now by the movements themselves are complete up to each pod's head, so each
pod's cursor starts at its wallet's version. On PostgreSQL the table of contributions is locked
(SHARE: no movement of the previous code can change a row meanwhile) before the versions are read,
so rows and versions are read as of one moment. Deploy with the previous code's writers stopped:
one still running after this would count a payment twice (once itself, once through the fold)."""

from django.db import migrations, models


def start_at_heads(apps, schema_editor):
    Wallet = apps.get_model("wallets", "Wallet")
    ContributionCursor = apps.get_model("pods", "ContributionCursor")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("LOCK TABLE pods_podcontribution IN SHARE MODE", params=None)
    ContributionCursor.objects.bulk_create(
        ContributionCursor(pod_id=wallet_id, version=version)
        for wallet_id, version in Wallet.objects.filter(kind="POD").values_list("id", "version").iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pods", "0004_goal_capturing"),
        ("wallets", "0011_outflow_limit_under_lock"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContributionCursor",
            fields=[
                ("pod_id", models.UUIDField(primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(start_at_heads, migrations.RunPython.noop),
    ]
