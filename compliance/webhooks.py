"""Verifying the KYC provider's signed callbacks (`POST /v1/hooks/kyc`).

The scheme follows Standard Webhooks, under the provider's own header names:

    kyc-webhook-id:         the callback's unique id (a retry of the same callback keeps it)
    kyc-webhook-timestamp:  Unix seconds when it was signed
    kyc-webhook-signature:  "v1,<base64(HMAC-SHA256(KYC_WEBHOOK_SECRET, id.timestamp.body))>",
                            several space-separated while the provider rotates its secret

The verification is `crowdpay.provider_signatures` (shared with the payment provider's webhooks), with
KYC_WEBHOOK_SECRET and KYC_WEBHOOK_TOLERANCE_SECONDS; a replay within the window carries an id
already processed, which `KycCallback`'s unique key turns into a no-op.
"""

from __future__ import annotations

from django.conf import settings

from crowdpay.provider_signatures import Scheme, SignatureRefused

ID_HEADER = "kyc-webhook-id"
TIMESTAMP_HEADER = "kyc-webhook-timestamp"
SIGNATURE_HEADER = "kyc-webhook-signature"
SCHEME = Scheme(ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, noun="callback", max_id_length=128)
WebhookVerificationError = SignatureRefused


def sign(*, secret: str, callback_id: str, timestamp: int | str, body: bytes) -> str:
    """The `kyc-webhook-signature` value for a callback (what the provider sends; tests use it)."""
    return SCHEME.sign(secret=secret, message_id=callback_id, timestamp=timestamp, body=body)


def verify(*, headers, body: bytes, now: float | None = None) -> str:
    """The callback id of a genuine, fresh callback; `WebhookVerificationError` otherwise."""
    callback_id, _ = SCHEME.verify(
        headers=headers,
        body=body,
        secret=settings.KYC_WEBHOOK_SECRET,
        tolerance=settings.KYC_WEBHOOK_TOLERANCE_SECONDS,
        now=now,
    )
    return callback_id
