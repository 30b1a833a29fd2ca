"""Compliance officers see the CrowdPod page read-only: the `view_*` permissions of the pods models
join the "Compliance officer" group (compliance/roles.py). compliance.0003 skips them when it runs
before the pods app's tables exist; this migration adds them then (and is a no-op otherwise)."""

from django.db import migrations

from compliance.roles import GROUP, PERMISSIONS, officer_group_sync


def forwards(apps, schema_editor):
    officer_group_sync(apps)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        pods = Permission.objects.filter(content_type__app_label="pods", codename__in=PERMISSIONS["pods"])
        group.permissions.remove(*pods)


class Migration(migrations.Migration):
    dependencies = [
        ("pods", "0002_write_path_fks_immediate"),
        ("compliance", "0003_compliance_officer_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
