"""The chain of a wallet's event stream (chain v2, issue 18): what needs the key is split from what
needs the lock.

- `mac = HMAC-SHA256(key[key_id], canonical_json(event))`, the event being its wallet id, its uid,
  type, data and time: computed in Python BEFORE any lock (it needs no chain head). Changing an
  event's content breaks its mac, and forging one needs the key.
- `link = sha256(prev_link ‖ mac ‖ version)`: unkeyed, so it can be computed under the lock, by
  PostgreSQL itself (`encode(sha256(convert_to(prev_link || mac || version::text, 'UTF8')), 'hex')`)
  or here (`next_link`); the key never enters the database. The first prev_link is `GENESIS_LINK`.
- `seal = HMAC-SHA256(key[key_id], "wallet_id|version|link")` certifies a wallet's head shortly after
  commit (`wallets.sealing`), so that a rewrite, deletion or reordering at or before a seal is caught
  even by someone who can write to the database and recompute the unkeyed links.

Canonical JSON sorts keys, has no spaces and allows no floats, so the same event always macs the same
on every database. Keys rotate by id: the last key in EVENT_HMAC_KEYS makes new macs and seals, every
listed key still verifies old ones. These functions are the only spelling of the formulas: the write
path, the migrations, verify_events and seed_demo all call them.
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


GENESIS_LINK = "0" * 64


def _key(key_id: str) -> bytes:
    try:
        return key_ring().keys[key_id]
    except KeyError:
        raise LookupError(f"unknown event key id {key_id!r}") from None


def event_mac(key_id: str, wallet_id: object, uid: object, type: str, data: dict, occurred_at: datetime) -> str:
    """The keyed digest of one event's content, independent of its place in the stream."""
    body = canonical_json(
        {
            "wallet_id": str(wallet_id),
            "uid": str(uid),
            "type": type,
            "data": data,
            "occurred_at": format_time(occurred_at),
        }
    )
    return hmac.new(_key(key_id), body, hashlib.sha256).hexdigest()


def next_link(prev_link: str, mac: str, version: int) -> str:
    """The unkeyed link of the event at `version` after the one whose link is `prev_link`."""
    return hashlib.sha256((prev_link + mac + str(version)).encode("ascii")).hexdigest()


def seal_mac(key_id: str, wallet_id: object, version: int, link: str) -> str:
    """The keyed certificate of a wallet's head: its stream up to `version` ends in `link`."""
    return hmac.new(_key(key_id), f"{wallet_id}|{version}|{link}".encode(), hashlib.sha256).hexdigest()


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
