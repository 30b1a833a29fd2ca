"""The "Compliance officer" group and exactly the permissions it needs: read the ledger, decide
review cases and KYC profiles, see personal data (`view_pii`: each unmasked view is audited),
freeze / unfreeze / close wallets, set wallet limits, read assessments and the audit log, and see
the CrowdPod page (members, goals, pledges, outflows and their votes, contributions, refunds)
and the sagas (with their steps and payouts) read-only. Nothing that adds, changes or deletes a
balance, an event, a posting, a journal entry, a hold, an assessment, an audit entry, a saga or a
pod's row.

The data migration 0003 creates the group; a post_migrate handler keeps it in step with this list
(and recreates it after a test flush). Apps and models that a later migration creates (the pods
app, the KYC review queue) are left out until they exist: `pods.0003_officer_pod_permissions` (and
post_migrate) give the group theirs, whichever of the two apps is migrated first."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

GROUP = "Compliance officer"
PERMISSIONS = {
    "wallets": ["view_wallet", "view_balance", "view_event", "view_hold", "view_journalentry", "view_posting"],
    "compliance": [
        "view_reviewcase",
        "decide_reviewcase",
        "view_kycprofile",
        "view_pii",
        "decide_kycprofile",
        "view_kycreview",
        "view_frozenwallet",
        "freeze_wallet",
        "unfreeze_wallet",
        "close_wallet",
        "view_walletlimit",
        "add_walletlimit",
        "change_walletlimit",
        "view_riskassessment",
        "view_auditentry",
        # four-eyes: see the requests waiting for a second officer (deciding one takes the action's own
        # permission, checked by compliance.four_eyes)
        "view_decisionrequest",
    ],
    # the operations behind the cases: sagas, their step logs and payouts, read-only (no "change":
    # settling a payout stays with finance staff)
    "sagas": ["view_saga", "view_sagastep", "view_payout"],
    # CrowdPods (wallets.pods, app label "pods"): the pod page and its tables, read-only
    "pods": [
        "view_pod",
        "view_podmember",
        "view_podcontribution",
        "view_podgoal",
        "view_pledge",
        "view_podoutflow",
        "view_podoutflowvote",
        "view_podrefund",
    ],
}


def _app_config(apps, app_label: str):
    """The app's config in `apps`, or None: a migration-time registry holds only the apps that
    have models at that point of the migration graph (the pods app has none before its 0001)."""
    try:
        return apps.get_app_config(app_label)
    except LookupError:
        return None


def _not_yet_migrated(apps, app_label: str, codenames: list[str]) -> set[str]:
    """The default permissions (`view_<model>` …) of models that a later migration creates: migration
    0003 runs with the models of its time, and post_migrate gives the group the rest. An app not
    migrated at all yet has every model still to come."""
    config = _app_config(apps, app_label)
    models = {model._meta.model_name for model in config.get_models()} if config is not None else set()
    return {
        name
        for name in codenames
        if name.split("_", 1)[0] in ("add", "change", "delete", "view") and name.split("_", 1)[1] not in models
    }


def officer_group_sync(apps, *, create_missing: bool = True):
    """Create or update the group with exactly PERMISSIONS (works with migration-time `apps`)."""
    if create_missing:  # permissions are normally created after all migrations (post_migrate)
        for app_label in PERMISSIONS:
            config = _app_config(apps, app_label)
            if config is None:
                continue  # not migrated yet: its own migration (or post_migrate) syncs again
            had = getattr(config, "models_module", None)
            config.models_module = had or True  # a migration-time stub has none
            create_permissions(config, apps=apps, verbosity=0)
            config.models_module = had
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    perms = []
    for app_label, codenames in PERMISSIONS.items():
        if _app_config(apps, app_label) is None:
            continue  # an app not migrated yet has no permission to give
        found = list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        missing = set(codenames) - {p.codename for p in found} - _not_yet_migrated(apps, app_label, codenames)
        if missing:
            raise RuntimeError(f"permissions missing for {app_label}: {sorted(missing)}")
        perms += found
    group.permissions.set(perms)
    return group


def on_post_migrate(sender, apps=None, **kwargs):
    # a flush sends post_migrate without `apps`: the global registry then
    if sender.name == "compliance":
        from django.apps import apps as global_apps

        officer_group_sync(apps or global_apps)
