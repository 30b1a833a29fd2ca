"""The officers' audit log refuses UPDATE and DELETE on PostgreSQL: append-only at the database."""

from django.db import migrations

from crowdpay.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [append_only("compliance_auditentry")]
