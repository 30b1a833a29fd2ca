"""Verifying the KYC provider's signed callbacks (`POST /v1/hooks/kyc`).

The scheme follows Standard Webhooks, under the provider's own header names:

    kyc-webhook-id:         the callback's unique id (a retry of the same callback keeps it)
    kyc-webhook-timestamp:  Unix seconds when it was signed
    kyc-webhook-signature:  "v1,<base64(HMAC-SHA256(KYC_WEBHOOK_SECRET, id.timestamp.body))>",
                            several space-separated while the provider rotates its secret

`body` is the raw request body, byte for byte. A signature is compared in constant time; a
timestamp further than KYC_WEBHOOK_TOLERANCE_SECONDS from now (stale, or in the future) is refused
even when signed, so a captured callback cannot be replayed later; within the window a replay
carries an id already processed, which `KycCallback`'s unique key turns into a no-op.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings

from crowdpay.errors import DomainError

ID_HEADER = "kyc-webhook-id"
TIMESTAMP_HEADER = "kyc-webhook-timestamp"
SIGNATURE_HEADER = "kyc-webhook-signature"
VERSION = "v1"


class WebhookVerificationError(DomainError):
    """The callback is not provably the provider's, now: 401, and nothing is written."""

    status = 401
    code = "webhook_signature_invalid"


def sign(*, secret: str, callback_id: str, timestamp: int | str, body: bytes) -> str:
    """The `kyc-webhook-signature` value for a callback (what the provider sends; tests use it)."""
    message = f"{callback_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def verify(*, headers, body: bytes, now: float | None = None) -> str:
    """The callback id of a genuine, fresh callback; `WebhookVerificationError` otherwise."""
    callback_id = headers.get(ID_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signatures = headers.get(SIGNATURE_HEADER, "")
    if not callback_id or not timestamp or not signatures or len(callback_id) > 128:
        raise WebhookVerificationError(
            f"a callback needs the {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers",
            code="webhook_headers_missing",
        )
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} is not Unix seconds", code="webhook_timestamp_invalid"
        ) from None
    now = time.time() if now is None else now
    if abs(now - signed_at) > settings.KYC_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            "the callback's timestamp is outside the tolerance window (stale, or in the future)",
            code="webhook_timestamp_stale",
        )
    expected = sign(secret=settings.KYC_WEBHOOK_SECRET, callback_id=callback_id, timestamp=timestamp, body=body)
    if not any(hmac.compare_digest(expected.encode(), given.encode()) for given in signatures.split()):
        raise WebhookVerificationError("the callback's signature does not verify")
    return callback_id
