"""Reads of the webhooks app: an owner's endpoints, their delivery log, a wallet's monitors, the
queue figures for /metrics."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from .errors import WebhookError, WebhookErrorCode
from .models import Attempt, Delivery, Endpoint, Message, Monitor


def endpoint_list(*, owner_id: uuid.UUID) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(owner_id=owner_id).order_by("created_at")


def endpoint_get(*, endpoint_id, owner_id: uuid.UUID | None) -> Endpoint:
    """The endpoint; with `owner_id`, only that owner's (another owner's is not found: 404)."""
    qs = Endpoint.objects.filter(pk=endpoint_id)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    endpoint = qs.first()
    if endpoint is None:
        raise WebhookError(f"webhook endpoint {endpoint_id} not found", code=WebhookErrorCode.ENDPOINT_NOT_FOUND)
    return endpoint


def delivery_page(
    *, endpoint: Endpoint, before: int | None = None, status: str | None = None, limit: int = 50
) -> list[Delivery]:
    """Newest first, each with its attempts (oldest first) and its message."""
    qs = Delivery.objects.filter(endpoint=endpoint).select_related("message")
    if before is not None:
        qs = qs.filter(id__lt=before)
    if status:
        qs = qs.filter(status=status)
    attempts = Prefetch("attempt_log", queryset=Attempt.objects.order_by("id"))
    return list(qs.order_by("-id").prefetch_related(attempts)[:limit])


def delivery_get(*, endpoint: Endpoint, delivery_id) -> Delivery:
    delivery = Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise WebhookError(f"delivery {delivery_id} not found", code=WebhookErrorCode.DELIVERY_NOT_FOUND)
    return delivery


def monitor_list(*, wallet_id: uuid.UUID) -> QuerySet[Monitor]:
    return Monitor.objects.filter(wallet_id=wallet_id).order_by("created_at")


def monitor_get(*, wallet_id: uuid.UUID, monitor_id) -> Monitor:
    monitor = Monitor.objects.filter(wallet_id=wallet_id, pk=monitor_id).first()
    if monitor is None:
        raise WebhookError(f"monitor {monitor_id} not found", code=WebhookErrorCode.MONITOR_NOT_FOUND)
    return monitor


def queue_figures(now: datetime | None = None) -> tuple[int, int, float]:
    """(pending deliveries, undispatched messages, age in seconds of the oldest of either)."""
    now = now or timezone.now()
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    undispatched = Message.objects.filter(dispatched_at__isnull=True)
    oldest = [
        pending.aggregate(at=Min("message__created_at"))["at"],
        undispatched.aggregate(at=Min("created_at"))["at"],
    ]
    ages = [(now - at).total_seconds() for at in oldest if at is not None]
    return pending.count(), undispatched.count(), max(ages, default=0.0)
