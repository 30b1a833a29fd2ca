"""The payment provider's signed webhooks (`POST /v1/hooks/funding`): how card providers report
captures, and how a funding waiting for a pending charge learns it was captured.

Signature (Standard Webhooks, the headers card providers use):

    webhook-id:         the event's unique id (a redelivery of the same event keeps it)
    webhook-timestamp:  Unix seconds when it was signed
    webhook-signature:  "v1,<base64(HMAC-SHA256(FUNDING_WEBHOOK_SECRET, id.timestamp.body))>",
                        several space-separated while the provider rotates its secret

The verification is `crowdpay.provider_signatures` (shared with the KYC provider's callbacks), with
FUNDING_WEBHOOK_SECRET and FUNDING_WEBHOOK_TOLERANCE_SECONDS. A refused webhook is 401 problem+json
and writes nothing. An event id already processed
(a replay within the window, or the provider's redelivery) is answered 200 and changes nothing: the
`FundingWebhook` row's unique key decides, not a check in Python.

Body: `{"type": "charge.captured", "data": {"id": "ch_…", "status": "captured", "amount": 50000,
"currency": "USD"}}` (`charge.pending`, `charge.failed`, `charge.refunded` likewise; other types
are acknowledged and ignored). Only those fields are kept, never the raw body.

The sandbox provider sends its own signed `charge.captured` for its `ch_test_late_…` tokens
(`sandbox_capture_schedule`), through the same verification as a real delivery.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError, connections, transaction

from crowdpay.errors import DomainError
from crowdpay.provider_signatures import Scheme, SignatureRefused

from . import charges, queue
from .gateways.funding import STATUSES, Charge
from .models import FundingWebhook

log = logging.getLogger(__name__)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SCHEME = Scheme(ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, noun="webhook", max_id_length=200)
WebhookVerificationError = SignatureRefused
CHARGE_EVENTS = {
    "charge.captured": "captured",
    "charge.pending": "pending",
    "charge.failed": "failed",
    "charge.refunded": "refunded",
}


class WebhookPayloadInvalid(DomainError):
    status = 400
    code = "webhook_payload_invalid"


def sign(*, secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The `webhook-signature` value for a webhook (what the provider sends; the sandbox and tests)."""
    return SCHEME.sign(secret=secret, message_id=webhook_id, timestamp=timestamp, body=body)


def signed_headers(body: bytes, *, webhook_id: str, timestamp: int | None = None, secret: str | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.FUNDING_WEBHOOK_SECRET if secret is None else secret
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }


def verify(*, headers, body: bytes, now: float | None = None) -> tuple[str, int]:
    """(event id, signed-at) of a genuine, fresh webhook; `WebhookVerificationError` otherwise."""
    return SCHEME.verify(
        headers=headers,
        body=body,
        secret=settings.FUNDING_WEBHOOK_SECRET,
        tolerance=settings.FUNDING_WEBHOOK_TOLERANCE_SECONDS,
        now=now,
    )


def _charge_fields(event_type: str, data) -> dict:
    """What the webhook says about its charge, checked; `WebhookPayloadInvalid` otherwise."""
    if event_type not in CHARGE_EVENTS:
        return {}
    if not isinstance(data, dict):
        raise WebhookPayloadInvalid("a charge event needs a `data` object")
    reference, amount, currency = data.get("id"), data.get("amount"), data.get("currency")
    status = data.get("status") or CHARGE_EVENTS[event_type]
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 200:
        raise WebhookPayloadInvalid("`data.id` must be the charge id")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise WebhookPayloadInvalid("`data.amount` must be a positive integer in minor units")
    if not isinstance(currency, str) or len(currency) != 3:
        raise WebhookPayloadInvalid("`data.currency` must be an ISO 4217 code")
    if status not in STATUSES:
        raise WebhookPayloadInvalid(f"`data.status` must be one of {', '.join(STATUSES)}")
    return {"charge_reference": reference, "charge_status": status, "amount": amount, "currency": currency.upper()}


def funding_hook_receive(*, headers, body: bytes, now: float | None = None) -> dict:
    """Verify, record once, and wake the funding saga waiting for the charge. Returns the answer."""
    webhook_id, signed_at = verify(headers=headers, body=body, now=now)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookPayloadInvalid("the webhook body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise WebhookPayloadInvalid("the webhook body needs a `type`")
    event_type = payload["type"][:64]
    fields = _charge_fields(event_type, payload.get("data"))
    provider = charges.funding_provider()
    try:
        with transaction.atomic():
            FundingWebhook.objects.create(
                provider=provider,
                webhook_id=webhook_id,
                event_type=event_type,
                sent_at=datetime.fromtimestamp(signed_at, tz=UTC),
                **fields,
            )
            waiting = (
                charges.waiting_saga_ids(provider=provider, reference=fields["charge_reference"]) if fields else []
            )
            for saga_id in waiting:
                queue.enqueue(saga_id)  # on commit: the saga confirms from the report just written
    except IntegrityError:
        return {"id": webhook_id, "duplicate": True}
    log.info("funding webhook", extra={"webhook_id": webhook_id, "type": event_type, "sagas": len(waiting)})
    return {"id": webhook_id, "duplicate": False}


# --- the sandbox's own callbacks --------------------------------------------------------------------


def sandbox_capture_deliver(*, reference: str, amount: int, currency: str) -> dict:
    """Deliver the sandbox's signed `charge.captured` for one of its late test charges. Its event id
    is derived from the charge, so the sandbox may send it any number of times: one effect."""
    body = json.dumps(
        {
            "type": "charge.captured",
            "data": {"id": reference, "status": "captured", "amount": amount, "currency": currency},
        },
        separators=(",", ":"),
    ).encode()
    headers = signed_headers(body, webhook_id=f"evt_sandbox_{hashlib.sha256(reference.encode()).hexdigest()[:32]}")
    return funding_hook_receive(headers=headers, body=body)


class _CaptureArguments(TypedDict):
    """sandbox_capture_deliver's keyword arguments (and the Celery task's)."""

    reference: str
    amount: int
    currency: str


def sandbox_capture_schedule(*, charge: Charge) -> None:
    """After FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS, capture a late test charge by webhook: a Celery
    task with a countdown when a broker runs the tasks, else (eager, `make run` without Redis) a
    timer thread in this process."""
    delay = settings.FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS
    arguments: _CaptureArguments = {"reference": charge.reference, "amount": charge.amount, "currency": charge.currency}
    from .tasks import funding_sandbox_capture

    if not funding_sandbox_capture.app.conf.task_always_eager:
        funding_sandbox_capture.apply_async(kwargs=arguments, countdown=delay)
        return

    def deliver() -> None:
        try:
            sandbox_capture_deliver(**arguments)
        except Exception:
            log.exception("the sandbox's capture webhook failed")
        finally:
            connections.close_all()

    timer = threading.Timer(delay, deliver)
    timer.daemon = True
    timer.start()
