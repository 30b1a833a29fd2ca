"""The HMAC chain of a wallet's event stream.

`hash = HMAC-SHA256(key[key_id], prev_hash ‖ canonical_json(event))` where the event is its wallet
id, version, type, data and time. Canonical JSON sorts keys, has no spaces and allows no floats, so
the same event always hashes the same on every database. Keys rotate by id: the last key in
EVENT_HMAC_KEYS signs new events, every listed key still verifies old ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    current_id: str


def _parse(spec: str) -> KeyRing:
    keys: dict[str, bytes] = {}
    current = ""
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id or len(secret) < 32:
            raise ImproperlyConfigured("EVENT_HMAC_KEYS entries are 'key_id:secret' with a secret of 32+ characters")
        keys[key_id] = secret.encode()
        current = key_id
    if not keys:
        raise ImproperlyConfigured("EVENT_HMAC_KEYS holds no key")
    return KeyRing(keys=keys, current_id=current)


@lru_cache(maxsize=4)
def _ring_for(spec: str) -> KeyRing:
    return _parse(spec)


def key_ring() -> KeyRing:
    return _ring_for(settings.EVENT_HMAC_KEYS)


def canonical_json(payload: object) -> bytes:
    """Sorted keys, no spaces, UTF-8. Floats are refused: they would not survive a round trip through
    every database byte for byte, and money and rates are int or str anyway."""
    if _has_float(payload):
        raise TypeError("floats are not allowed in event data: use int minor units or decimal strings")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=64)
def format_time(moment: datetime) -> str:
    # Cached: every event of one write shares its time.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *, key_id: str, prev_hash: str, wallet_id: str, version: int, type: str, data: dict, occurred_at: datetime
) -> str:
    ring = key_ring()
    try:
        key = ring.keys[key_id]
    except KeyError:
        raise LookupError(f"unknown event key id {key_id!r}") from None
    body = canonical_json(
        {
            "wallet_id": wallet_id,
            "version": version,
            "type": type,
            "data": data,
            "occurred_at": format_time(occurred_at),
        }
    )
    return hmac.new(key, prev_hash.encode() + body, hashlib.sha256).hexdigest()


def _has_float(value: Any) -> bool:
    # On the hot path of every append: a plain loop over the (small, shallow) payload, no generators.
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        value = value.values()
    elif kind is not list and kind is not tuple:
        return isinstance(value, float)
    for item in value:  # noqa: SIM110 - a loop, not a generator: this runs on every append
        if _has_float(item):
            return True
    return False
