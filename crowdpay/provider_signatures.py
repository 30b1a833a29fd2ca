"""Verifying the signed callbacks that providers send us (the KYC provider's `/v1/hooks/kyc`, the
payment provider's `/v1/hooks/funding`): one scheme, Standard Webhooks, under each provider's
header names.

    <id header>:         the message's unique id (a redelivery of the same message keeps it)
    <timestamp header>:  Unix seconds when it was signed
    <signature header>:  "v1,<base64(HMAC-SHA256(secret, id.timestamp.body))>", several
                         space-separated while the provider rotates its secret

`body` is the raw request body, byte for byte. Signatures are compared in constant time. A timestamp
further than the tolerance from now (stale, or in the future) is refused even when signed, so a
captured message cannot be replayed later; within the window a replay carries an id already
processed, which the receiving table's unique key turns into a no-op. A refusal is 401 problem+json
(`SignatureRefused`) and the caller writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from crowdpay.errors import DomainError

VERSION = "v1"


class SignatureRefused(DomainError):
    """The message is not provably the provider's, now: 401, and nothing is written."""

    status = 401
    code = "webhook_signature_invalid"


@dataclass(frozen=True)
class Scheme:
    """One provider's header names and limits; `noun` names its messages in refusals."""

    id_header: str
    timestamp_header: str
    signature_header: str
    noun: str
    max_id_length: int

    def sign(self, *, secret: str, message_id: str, timestamp: int | str, body: bytes) -> str:
        """The signature header's value for a message (what the provider sends; sandboxes and tests)."""
        message = f"{message_id}.{timestamp}.".encode() + body
        digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        return f"{VERSION},{base64.b64encode(digest).decode()}"

    def verify(
        self, *, headers: Mapping[str, str], body: bytes, secret: str, tolerance: float, now: float | None = None
    ) -> tuple[str, int]:
        """(message id, signed-at) of a genuine, fresh message; `SignatureRefused` otherwise."""
        message_id = headers.get(self.id_header, "")
        timestamp = headers.get(self.timestamp_header, "")
        signatures = headers.get(self.signature_header, "")
        if not message_id or not timestamp or not signatures or len(message_id) > self.max_id_length:
            names = f"{self.id_header}, {self.timestamp_header} and {self.signature_header}"
            raise SignatureRefused(f"a {self.noun} needs the {names} headers", code="webhook_headers_missing")
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise SignatureRefused(
                f"{self.timestamp_header} is not Unix seconds", code="webhook_timestamp_invalid"
            ) from None
        now = time.time() if now is None else now
        if abs(now - signed_at) > tolerance:
            raise SignatureRefused(
                f"the {self.noun}'s timestamp is outside the tolerance window (stale, or in the future)",
                code="webhook_timestamp_stale",
            )
        expected = self.sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body).encode()
        if not any(hmac.compare_digest(expected, given.encode()) for given in signatures.split()):
            raise SignatureRefused(f"the {self.noun}'s signature does not verify")
        return message_id, signed_at
