"""The officers' back-office v2, deciding: an owner's email (encrypted), the blind index of names
and emails (filled here for the profiles that exist), a reason code on review-case decisions, and
the officers' read-only view of sagas, their steps and payouts (compliance/roles.py)."""

import django.db.models.deletion
from django.db import migrations, models

import compliance.fields
from compliance.roles import officer_group_sync


def tokens_fill(apps, schema_editor):
    from compliance import blind_index

    KycProfile = apps.get_model("compliance", "KycProfile")
    PiiSearchToken = apps.get_model("compliance", "PiiSearchToken")
    for profile in KycProfile.objects.order_by("pk").iterator(chunk_size=500):
        blind_index.profile_tokens_write(profile, model=PiiSearchToken)


def officers_see_sagas(apps, schema_editor):
    officer_group_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_decisionrequest"),
        ("sagas", "0005_funding_claim_fk_immediate"),
    ]

    operations = [
        migrations.AddField(
            model_name="kycprofile",
            name="email",
            field=compliance.fields.EncryptedTextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="reviewcase",
            name="decision_code",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.CreateModel(
            name="PiiSearchToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("name", "Name"), ("name_word", "Name Word"), ("email", "Email")], max_length=10
                    ),
                ),
                ("key_id", models.CharField(help_text="the PII key the digest was derived from", max_length=32)),
                ("digest", models.CharField(help_text="hex HMAC-SHA256; never the value itself", max_length=64)),
                (
                    "profile",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_tokens",
                        to="compliance.kycprofile",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["digest"], name="piisearchtoken_digest")],
                "constraints": [
                    models.UniqueConstraint(fields=("profile", "kind", "digest"), name="piisearchtoken_uniq")
                ],
            },
        ),
        migrations.RunPython(tokens_fill, migrations.RunPython.noop),
        migrations.RunPython(officers_see_sagas, migrations.RunPython.noop),
    ]
