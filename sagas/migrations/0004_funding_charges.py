"""Funding charges: `FundingClaim` (one use of a provider's charge, unique on provider and charge)
and `FundingWebhook` (the provider's signed callbacks, processed once per webhook-id). The claim's
foreign key to its saga is made immediate in 0005 (its constraint exists only once this one ends)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0003_write_path_fks_immediate"),
    ]

    operations = [
        migrations.CreateModel(
            name="FundingWebhook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=64)),
                ("webhook_id", models.CharField(max_length=200)),
                ("event_type", models.CharField(max_length=64)),
                ("charge_reference", models.CharField(blank=True, default="", max_length=200)),
                ("charge_status", models.CharField(blank=True, default="", max_length=16)),
                ("amount", models.BigIntegerField(blank=True, null=True)),
                ("currency", models.CharField(blank=True, default="", max_length=3)),
                ("sent_at", models.DateTimeField()),
                ("received_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["received_at", "id"],
                "indexes": [models.Index(fields=["provider", "charge_reference"], name="funding_webhook_charge_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("provider", "webhook_id"), name="funding_webhook_id_uniq")
                ],
            },
        ),
        migrations.CreateModel(
            name="FundingClaim",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=64)),
                ("charge_reference", models.CharField(max_length=200)),
                ("claimed_at", models.DateTimeField(auto_now=True)),
                (
                    "saga",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="funding_claim", to="sagas.saga"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("provider", "charge_reference"), name="funding_claim_charge_uniq")
                ],
            },
        ),
    ]
