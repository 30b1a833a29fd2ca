"""Rows of the webhooks app in every state, written through the services where one exists (the
admin walk builds its data set with `webhook_rows`)."""

from __future__ import annotations

from django.utils import timezone

from crowdpay.webhooks import services
from crowdpay.webhooks.models import Attempt, Delivery, Endpoint, Message, Monitor
from wallets.models import Wallet


def webhook_rows(*, wallet: Wallet, url: str = "http://127.0.0.1:9/hooks") -> list[Endpoint]:
    """Two endpoints of `wallet`'s owner (one disabled), a monitor of each direction, and a message
    with a delivery in every status, each with an attempt of every outcome spread over them."""
    enabled = services.endpoint_create(owner_id=wallet.owner_id, url=url, event_types=["operation.succeeded"])
    disabled = services.endpoint_create(owner_id=wallet.owner_id, url=url, event_types=["wallet.frozen"])
    services.endpoint_disable(endpoint=disabled, reason=Endpoint.DisabledReason.GONE)
    for direction in Monitor.Direction:
        services.monitor_create(wallet=wallet, currency=wallet.base_currency, direction=direction, threshold=100)
    now = timezone.now()
    outcomes = iter(Attempt.Outcome)
    for status in Delivery.Status:
        message = Message.objects.create(
            owner_id=wallet.owner_id, wallet_id=wallet.id, type="operation.succeeded", data={}, created_at=now
        )
        delivery = Delivery.objects.create(
            message=message, endpoint=enabled, wallet_id=wallet.id, status=status, attempts=1, next_attempt_at=now
        )
        Attempt.objects.create(delivery=delivery, attempted_at=now, outcome=next(outcomes), status_code=200)
    Attempt.objects.create(delivery=delivery, attempted_at=now, outcome=next(outcomes), status_code=410)
    return [enabled, disabled]
