"""Indexes for the back-office at scale (issue 21): the saga and payout lists in their order, and the
saga list's filter on the states that wait (partial: the finished sagas, nearly all, stay out)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sagas", "0006_saga_source_reference_idx")]

    operations = [
        migrations.AddIndex(model_name="saga", index=models.Index(fields=["created_at"], name="saga_created_at")),
        migrations.AddIndex(
            model_name="saga",
            index=models.Index(
                fields=["state", "created_at"],
                name="saga_open_state_created",
                condition=~models.Q(state__in=["SUCCEEDED", "FAILED"]),
            ),
        ),
        migrations.AddIndex(model_name="payout", index=models.Index(fields=["created_at"], name="payout_created_at")),
    ]
