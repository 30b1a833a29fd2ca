"""An index on a saga's charge reference (partial: most sagas have none), for the back-office's
search by charge reference (compliance.search)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0005_funding_claim_fk_immediate"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="saga",
            index=models.Index(
                condition=models.Q(("source_reference", ""), _negated=True),
                fields=["source_reference"],
                name="saga_source_ref_idx",
            ),
        ),
    ]
