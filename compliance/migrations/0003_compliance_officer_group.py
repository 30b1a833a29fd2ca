"""The "Compliance officer" group with exactly the permissions the back-office needs: read the
ledger, decide review cases and KYC profiles, freeze / unfreeze / close wallets, set wallet limits,
read assessments and the audit log, see personal data (`view_pii`: each unmasked view is audited).
No permission to add, change or delete a balance, an event, a posting, a journal entry, a hold, an
assessment or an audit entry; staff outside the group see personal data masked."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Compliance officer"
PERMISSIONS = {
    "wallets": ["view_wallet", "view_balance", "view_event", "view_hold", "view_journalentry", "view_posting"],
    "compliance": [
        "view_reviewcase",
        "decide_reviewcase",
        "view_kycprofile",
        "view_pii",
        "decide_kycprofile",
        "view_frozenwallet",
        "freeze_wallet",
        "unfreeze_wallet",
        "close_wallet",
        "view_walletlimit",
        "add_walletlimit",
        "change_walletlimit",
        "view_riskassessment",
        "view_auditentry",
    ],
}


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_label in ("wallets", "compliance"):
        config = apps.get_app_config(app_label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    perms = []
    for app_label, codenames in PERMISSIONS.items():
        found = list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        missing = set(codenames) - {p.codename for p in found}
        if missing:
            raise RuntimeError(f"permissions missing for {app_label}: {sorted(missing)}")
        perms += found
    group.permissions.set(perms)


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
