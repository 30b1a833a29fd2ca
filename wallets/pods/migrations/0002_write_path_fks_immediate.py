"""The pods' foreign keys are checked by their INSERT, not at COMMIT (the ledger's "Lock order"
rule: a deferred check takes its KEY SHARE lock outside the lock order)."""

from django.db import migrations

from crowdpay.migration_ops import foreign_keys_immediate


class Migration(migrations.Migration):
    dependencies = [("pods", "0001_initial")]
    operations = [
        foreign_keys_immediate(
            ("pods_pod", "wallet_id"),
            ("pods_podmember", "pod_id"),
            ("pods_podgoal", "pod_id"),
            ("pods_pledge", "pod_id"),
            ("pods_pledge", "goal_id"),
            ("pods_pledge", "hold_id"),
            ("pods_podoutflow", "pod_id"),
            ("pods_podoutflowvote", "outflow_id"),
        )
    ]
