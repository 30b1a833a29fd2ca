"""Webhook endpoints (subscriptions), the outbox of messages, one delivery per (message, endpoint)
with its log of attempts, and balance monitors.

The outbox rows (`Message`) carry no foreign key: they are inserted inside ledger movements, and an
insert that checks no key takes no lock outside the ledger's lock order (wallets/ledger.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from compliance.fields import EncryptedTextField


class Endpoint(models.Model):
    class Status(models.TextChoices):
        ENABLED = "ENABLED"
        DISABLED = "DISABLED"

    class DisabledReason(models.TextChoices):
        NONE = "", "—"
        OWNER = "owner", "disabled by its owner"
        GONE = "gone", "the receiver answered 410 Gone"
        FAILING = "failing", "every delivery failed for too long"
        OFFICER = "officer", "disabled by staff"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.UUIDField()
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(default=list)
    status = FSMField(max_length=8, choices=Status.choices, default=Status.ENABLED)
    # A DisabledReason value (no `choices`: it names why, not a state of its own).
    disabled_reason = models.CharField(max_length=16, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The signing secrets (`whsec_<base64>`), encrypted at rest. During a rotation's overlap both sign.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt failed (None once one succeeds): too long and the endpoint is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhooks_endpoint"
        ordering = ["created_at"]
        indexes = [models.Index(fields=["owner_id", "status"], name="webhooks_endpoint_owner")]

    def __str__(self) -> str:
        return f"{self.url} ({self.status.lower()})"

    @transition(field=status, source=Status.ENABLED, target=Status.DISABLED)
    def disable(self) -> None:
        pass

    @transition(field=status, source=Status.DISABLED, target=Status.ENABLED)
    def enable(self) -> None:
        pass


class Message(models.Model):
    """One event for one owner, written in the transaction of the change it reports. Its `uid` is
    the `webhook-id` every delivery of it carries (receivers deduplicate on it)."""

    id = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_id = models.UUIDField()
    wallet_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    # When the message was fanned out into deliveries (None: still waiting for the dispatcher).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_message"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="webhooks_message_undispatched", condition=Q(dispatched_at__isnull=True)),
            models.Index(fields=["owner_id", "id"], name="webhooks_message_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uid.hex}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        FAILED = "FAILED"  # given up (retries exhausted, or the endpoint is gone)

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The message's wallet, copied: a wallet's messages go to an endpoint one after the other.
    wallet_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_delivery"
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["message", "endpoint"], name="webhooks_delivery_once")]
        indexes = [
            models.Index(
                fields=["endpoint", "wallet_id", "message"],
                name="webhooks_delivery_queue",
                condition=Q(status="PENDING"),
            ),
            models.Index(fields=["next_attempt_at"], name="webhooks_delivery_due", condition=Q(status="PENDING")),
            models.Index(fields=["endpoint", "-id"], name="webhooks_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.id} of message {self.message_id} ({self.status.lower()})"


class Attempt(models.Model):
    class Outcome(models.TextChoices):
        DELIVERED = "delivered"
        FAILED = "failed"  # a non-2xx answer, a timeout, a refused connection: retried
        GONE = "gone"  # 410: the endpoint is disabled
        REFUSED = "refused"  # the URL is not one this service calls out to (SSRF rules)

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_head = models.TextField(blank=True, default="")  # the first bytes of the answer
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        db_table = "webhooks_attempt"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.id}: {self.outcome} {self.status_code or ''}".strip()


class Monitor(models.Model):
    """Fires `wallet.balance_below` / `wallet.balance_above` once each time the wallet's available
    balance in `currency` crosses `threshold`, evaluated by the ledger on the rows it has locked."""

    class Direction(models.TextChoices):
        BELOW = "BELOW"
        ABOVE = "ABOVE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey("wallets.Wallet", on_delete=models.CASCADE, related_name="monitors")
    owner_id = models.UUIDField()
    currency = models.CharField(max_length=3)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    threshold = models.BigIntegerField()
    description = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_monitor"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.direction.lower()} {self.threshold} {self.currency} on {self.wallet_id}"
