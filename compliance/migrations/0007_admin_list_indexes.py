"""Indexes for the back-office at scale (issue 21): the KYC profile list by submission time."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("compliance", "0006_admin_v2_deciding")]

    operations = [
        migrations.AddIndex(
            model_name="kycprofile",
            index=models.Index(fields=["submitted_at"], name="kycprofile_submitted_at"),
        ),
    ]
