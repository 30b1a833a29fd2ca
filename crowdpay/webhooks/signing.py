"""Standard Webhooks signing (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp`
and `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`, one signature per
active secret, space-separated, with the reference implementation's `Webhook.sign`."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(*, webhook_id: str, timestamp: datetime, body: bytes, secrets_: list[str]) -> dict[str, str]:
    text = body.decode()
    signatures = " ".join(Webhook(s).sign(msg_id=webhook_id, timestamp=timestamp, data=text) for s in secrets_)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
