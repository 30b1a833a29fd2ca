"""The "Compliance officer" group with exactly the permissions it needs (see compliance/roles.py)."""

from django.db import migrations

from compliance.roles import GROUP, officer_group_sync


def forwards(apps, schema_editor):
    officer_group_sync(apps)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0002_audit_append_only"),
        ("wallets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
