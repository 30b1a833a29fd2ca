"""Every write of the webhooks app: endpoints and their secrets, balance monitors, fanning messages
out into deliveries, attempts (the HTTP call runs with no transaction open), replays, the sweep."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_fsm import can_proceed

from wallets.currencies import validate_currency
from wallets.models import Wallet

from . import metrics, retries, signing, transport
from .errors import WebhookError, WebhookErrorCode
from .events import EVENT_TYPES
from .models import Attempt, Delivery, Endpoint, Message, Monitor

log = logging.getLogger(__name__)

MAX_ENDPOINTS_PER_OWNER = 20
_DISPATCH_LOCK = 0x77_68_6B_64  # pg advisory lock: one dispatcher at a time keeps the fan-out in order
_COUNTDOWN_MAX = 60.0  # a retry further away than this is left to the sweep, not a broker countdown


# --- endpoints ----------------------------------------------------------------------------------


def _event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise WebhookError(
            f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}"
            if unknown
            else "name at least one event type",
            code=WebhookErrorCode.UNKNOWN_EVENT_TYPE,
        )
    return sorted(set(event_types), key=EVENT_TYPES.index)


def _url(url: str) -> str:
    try:
        transport.resolve(url)
    except transport.UrlRefused as exc:
        raise WebhookError(exc.detail, code=WebhookErrorCode.URL_REFUSED) from None
    return url


def endpoint_create(*, owner_id: uuid.UUID, url: str, event_types: list[str], description: str = "") -> Endpoint:
    """Register an endpoint; its signing secret is on the returned object (`secret`), shown once."""
    event_types = _event_types(event_types)
    _url(url)  # resolves the host: before any transaction
    with transaction.atomic():
        if Endpoint.objects.filter(owner_id=owner_id).count() >= MAX_ENDPOINTS_PER_OWNER:
            raise WebhookError(
                f"an owner may register at most {MAX_ENDPOINTS_PER_OWNER} endpoints",
                code=WebhookErrorCode.TOO_MANY_ENDPOINTS,
            )
        endpoint = Endpoint.objects.create(
            owner_id=owner_id, url=url, event_types=event_types, description=description, secret=signing.secret_new()
        )
    return endpoint


def _locked(endpoint_id: uuid.UUID) -> Endpoint:
    # NO KEY UPDATE: the deliveries' foreign-key checks (KEY SHARE) never wait on an edit.
    return Endpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)


def endpoint_update(
    *, endpoint: Endpoint, url: str | None = None, event_types: list[str] | None = None, description: str | None = None
) -> Endpoint:
    event_types = _event_types(event_types) if event_types is not None else None
    if url is not None:
        _url(url)
    with transaction.atomic():
        endpoint = _locked(endpoint.id)
        if url is not None:
            endpoint.url = url
        if event_types is not None:
            endpoint.event_types = event_types
        if description is not None:
            endpoint.description = description
        endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    with transaction.atomic():
        _locked(endpoint.id).delete()


def endpoint_rotate_secret(*, endpoint: Endpoint, overlap_seconds: int | None = None) -> Endpoint:
    """A new secret; the old one keeps signing (both signatures sent) for the overlap."""
    overlap = settings.WEBHOOK_SECRET_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    with transaction.atomic():
        endpoint = _locked(endpoint.id)
        endpoint.previous_secret = endpoint.secret if overlap > 0 else ""
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=overlap) if overlap > 0 else None
        endpoint.secret = signing.secret_new()
        endpoint.save()
    return endpoint


def endpoint_disable(*, endpoint: Endpoint, reason: str = Endpoint.DisabledReason.OWNER) -> Endpoint:
    with transaction.atomic():
        endpoint = _locked(endpoint.id)
        if not can_proceed(endpoint.disable):
            raise WebhookError("the endpoint is already disabled", code=WebhookErrorCode.INVALID_TRANSITION)
        _disable(endpoint, reason)
    return endpoint


def _disable(endpoint: Endpoint, reason: str) -> None:
    endpoint.disable()
    endpoint.disabled_reason, endpoint.disabled_at = reason, timezone.now()
    endpoint.save()
    if reason in (Endpoint.DisabledReason.GONE, Endpoint.DisabledReason.FAILING):
        log.warning(
            "webhook endpoint disabled: %s",
            Endpoint.DisabledReason(reason).label,
            extra={"endpoint_id": str(endpoint.id), "reason": reason},
        )


def endpoint_enable(*, endpoint: Endpoint) -> Endpoint:
    """Enabled again: its deliveries still pending are due now (in order, per wallet)."""
    with transaction.atomic():
        endpoint = _locked(endpoint.id)
        if not can_proceed(endpoint.enable):
            raise WebhookError("the endpoint is already enabled", code=WebhookErrorCode.INVALID_TRANSITION)
        endpoint.enable()
        endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
        endpoint.save()
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
            next_attempt_at=timezone.now()
        )
        transaction.on_commit(lambda: _send_due(endpoint_id=endpoint.id))
    return endpoint


def active_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return secrets


# --- balance monitors -------------------------------------------------------------------------------


def monitor_create(*, wallet: Wallet, currency: str, direction: str, threshold: int, description: str = "") -> Monitor:
    validate_currency(currency)
    return Monitor.objects.create(
        wallet=wallet,
        owner_id=wallet.owner_id,
        currency=currency,
        direction=direction,
        threshold=threshold,
        description=description,
    )


def monitor_delete(*, monitor: Monitor) -> None:
    monitor.delete()


# --- fan-out and delivery ---------------------------------------------------------------------------


def messages_dispatch(*, limit: int = 1000) -> int:
    """Fan committed messages out into one delivery per subscribed enabled endpoint (registered
    before the message), oldest first, and send the first of each (endpoint, wallet) queue."""
    now = timezone.now()
    heads: dict[tuple[uuid.UUID, uuid.UUID | None], int] = {}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DISPATCH_LOCK])
        messages = list(
            Message.objects.filter(dispatched_at__isnull=True)
            .only("id", "owner_id", "wallet_id", "type", "created_at")
            .order_by("id")[:limit]
        )
        if not messages:
            return 0
        endpoints: dict[uuid.UUID, list[Endpoint]] = defaultdict(list)
        for endpoint in Endpoint.objects.filter(
            owner_id__in={m.owner_id for m in messages}, status=Endpoint.Status.ENABLED
        ).only("id", "owner_id", "event_types", "created_at"):
            endpoints[endpoint.owner_id].append(endpoint)
        deliveries = [
            Delivery(message=m, endpoint=e, wallet_id=m.wallet_id, next_attempt_at=now)
            for m in messages
            for e in endpoints[m.owner_id]
            if m.type in e.event_types and e.created_at <= m.created_at
        ]
        created = Delivery.objects.bulk_create(deliveries)
        Message.objects.filter(id__in=[m.id for m in messages]).update(dispatched_at=now)
        for delivery in created:
            heads.setdefault((delivery.endpoint_id, delivery.wallet_id), delivery.id)
        transaction.on_commit(lambda: _send(list(heads.values())))
    return len(messages)


def _send(delivery_ids: list[int], countdown: float | None = None) -> None:
    from . import tasks

    for delivery_id in delivery_ids:
        try:
            tasks.delivery_attempt.apply_async(args=[delivery_id], countdown=countdown)
        except Exception:  # the broker is down: the sweep sends it
            log.warning("webhook delivery not enqueued", extra={"delivery_id": delivery_id}, exc_info=True)
            return


def _earlier_pending(delivery: Delivery) -> bool:
    return Delivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        wallet_id=delivery.wallet_id,
        status=Delivery.Status.PENDING,
        message_id__lt=delivery.message_id,
    ).exists()


def _next_in_queue(delivery: Delivery) -> int | None:
    return (
        Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id, wallet_id=delivery.wallet_id, status=Delivery.Status.PENDING
        )
        .order_by("message_id")
        .values_list("id", flat=True)
        .first()
    )


def message_body(message: Message) -> bytes:
    """The Standard Webhooks payload: `{type, timestamp, data}`; the same bytes on every attempt."""
    import json

    document = {"type": message.type, "timestamp": message.created_at.isoformat(), "data": message.data}
    return json.dumps(document, separators=(",", ":"), default=str).encode()


def delivery_attempt(*, delivery_id: int) -> str | None:
    """One attempt of a delivery that is due, pending, at the head of its (endpoint, wallet) queue
    and whose endpoint is enabled; else nothing (None). Claimed under a lease in one short
    transaction, sent with none open, recorded in another; a worker dying in between leaves the
    lease to run out and the sweep sends it again, with the same `webhook-id`."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "message")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
            return None
        endpoint, message = delivery.endpoint, delivery.message
        if endpoint.status != Endpoint.Status.ENABLED or _earlier_pending(delivery):
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
        url, secrets = endpoint.url, active_secrets(endpoint, now)
    body = message_body(message)
    sent_at = timezone.now()
    headers = signing.headers(webhook_id=message.webhook_id, timestamp=sent_at, body=body, secrets_=secrets)
    refused = False
    try:
        answer = transport.post(url, body=body, headers=headers)
    except transport.UrlRefused as exc:
        refused, answer = True, transport.Answer(status=None, latency_ms=0, head=b"", error=exc.detail[:200])
    return _attempt_record(delivery_id=delivery.id, attempted_at=sent_at, answer=answer, refused=refused)


def _attempt_record(*, delivery_id: int, attempted_at: datetime, answer: transport.Answer, refused: bool) -> str:
    now = timezone.now()
    ok = answer.status is not None and 200 <= answer.status < 300
    gone = answer.status == 410
    outcome = (
        Attempt.Outcome.DELIVERED
        if ok
        else Attempt.Outcome.GONE
        if gone
        else Attempt.Outcome.REFUSED
        if refused
        else Attempt.Outcome.FAILED
    )
    follow: list[int] = []
    retry_in: float | None = None
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(of=("self",)).get(pk=delivery_id)
        endpoint = _locked(delivery.endpoint_id)
        Attempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            outcome=outcome,
            status_code=answer.status,
            latency_ms=answer.latency_ms,
            response_head=answer.head[:512].decode("utf-8", errors="replace"),
            error=answer.error,
        )
        delivery.last_status_code = answer.status
        if delivery.status == Delivery.Status.PENDING:
            if ok:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.DELIVERED, now, None
                endpoint.failing_since = None
            elif gone:
                delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
                if can_proceed(endpoint.disable):
                    _disable(endpoint, Endpoint.DisabledReason.GONE)
            else:
                retry_in = retries.retry_in(delivery.attempts)
                if retry_in is not None:
                    delivery.next_attempt_at = now + timedelta(seconds=retry_in)
                else:
                    delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
                endpoint.failing_since = endpoint.failing_since or attempted_at
                failing_for = (now - endpoint.failing_since).total_seconds()
                if failing_for > settings.WEBHOOK_DISABLE_AFTER_SECONDS and can_proceed(endpoint.disable):
                    _disable(endpoint, Endpoint.DisabledReason.FAILING)
        delivery.save()
        endpoint.save()
        if delivery.status != Delivery.Status.PENDING:
            following = _next_in_queue(delivery)
            follow = [following] if following is not None else []
        transaction.on_commit(lambda: metrics.record_delivery(outcome))
        if follow:
            transaction.on_commit(lambda: _send(follow))
        elif retry_in is not None and retry_in <= _COUNTDOWN_MAX:
            transaction.on_commit(lambda: _send([delivery_id], countdown=retry_in))
    return str(outcome)


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a message to an endpoint again (same `webhook-id`), whatever became of it: pending again
    with a fresh schedule. Its wallet's later messages to that endpoint wait for it, in order."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(of=("self",)).get(pk=delivery.pk)
        delivery.status, delivery.attempts, delivery.next_attempt_at = Delivery.Status.PENDING, 0, timezone.now()
        delivery.delivered_at = None
        delivery.save()
        head = _next_in_queue(delivery)
        transaction.on_commit(lambda: _send([head] if head is not None else []))
    return delivery


def deliveries_replay_failed(*, endpoint: Endpoint, since: datetime) -> int:
    """Replay every delivery to `endpoint` that was given up, of messages since `since`."""
    with transaction.atomic():
        replayed = Delivery.objects.filter(
            endpoint=endpoint, status=Delivery.Status.FAILED, message__created_at__gte=since
        ).update(status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None)
        transaction.on_commit(lambda: _send_due(endpoint_id=endpoint.id))
    return replayed


# --- the sweep (Celery beat) ------------------------------------------------------------------------


def due_heads(*, endpoint_id: uuid.UUID | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries that are due, to an enabled endpoint, and first in their queue."""
    now = timezone.now()
    qs = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__status=Endpoint.Status.ENABLED
    )
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    from django.db.models import Exists, OuterRef

    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        wallet_id=OuterRef("wallet_id"),
        status=Delivery.Status.PENDING,
        message_id__lt=OuterRef("message_id"),
    )
    earlier_null = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        wallet_id__isnull=True,
        status=Delivery.Status.PENDING,
        message_id__lt=OuterRef("message_id"),
    )
    with_wallet = qs.filter(wallet_id__isnull=False).exclude(Exists(earlier))
    without_wallet = qs.filter(wallet_id__isnull=True).exclude(Exists(earlier_null))
    ids = list(with_wallet.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    ids += list(without_wallet.order_by("next_attempt_at").values_list("id", flat=True)[: limit - len(ids)])
    return ids


def _send_due(*, endpoint_id: uuid.UUID | None = None) -> int:
    heads = due_heads(endpoint_id=endpoint_id)
    _send(heads)
    return len(heads)


def webhooks_sweep() -> int:
    """The safety net: fan out any message no dispatch took yet, and send every due delivery
    (retries, and those whose worker died mid-attempt: their lease ran out)."""
    while messages_dispatch() >= 1000:
        pass
    return _send_due()
