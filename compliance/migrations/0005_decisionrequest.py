# Four-eyes requests (compliance.four_eyes): a decision a second officer must approve.

import uuid

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0004_kyc_onboarding"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DecisionRequest",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("approve_case_above_threshold", "Approve a review case above the four-eyes amount"),
                            ("lift_velocity_limit", "Lift a wallet's velocity limit"),
                            ("unfreeze_fraud_freeze", "Unfreeze a wallet frozen for fraud"),
                            ("close_wallet", "Close a wallet"),
                        ],
                        max_length=32,
                    ),
                ),
                ("target_type", models.CharField(help_text="review_case or wallet", max_length=32)),
                ("target_id", models.CharField(max_length=64)),
                (
                    "payload",
                    models.JSONField(blank=True, default=dict, help_text="what the action needs, e.g. the new limit"),
                ),
                ("reason", models.TextField(help_text="the requesting officer's reason")),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                (
                    "status",
                    django_fsm.FSMField(
                        choices=[
                            ("PENDING", "Pending"),
                            ("APPROVED", "Approved"),
                            ("REJECTED", "Rejected"),
                            ("EXPIRED", "Expired"),
                        ],
                        default="PENDING",
                        max_length=8,
                        protected=True,
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decision_reason", models.TextField(blank=True, default="")),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "request for a second officer",
                "ordering": ["requested_at"],
                "indexes": [models.Index(fields=["status", "requested_at"], name="decisionrequest_status_at")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "PENDING")),
                        fields=("kind", "target_id"),
                        name="decisionrequest_one_pending",
                    )
                ],
            },
            bases=(django_fsm.ConcurrentTransitionMixin, models.Model),
        ),
    ]
