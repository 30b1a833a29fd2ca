"""Personal data at rest: AES-256-GCM under rotatable keys.

`settings.PII_ENCRYPTION_KEYS` is "key_id:base64-of-32-bytes,key_id:…": the LAST key encrypts, every
key decrypts. Each stored value names its key, so keys rotate without a flag day: add a new key at
the end, run `manage.py rotate_pii_keys` to re-encrypt everything under it, then drop the old one.

A stored value is `pii1:<key_id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The nonce is 96 random bits per
value; the associated data binds the value to its column ("compliance.kycprofile.legal_name"), so a
ciphertext copied into another column does not decrypt.

In development, when PII_ENCRYPTION_KEYS is empty, one key `dev` is derived from SECRET_KEY
(SHA-256 of a label and the secret). That is only for a local machine: production settings must set
real keys, and a value written under `dev` becomes unreadable if SECRET_KEY changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "pii1"
NONCE_BYTES = 12
DEV_KEY_ID = "dev"


class PiiDecryptionError(Exception):
    """A stored value cannot be decrypted: unknown key id, wrong key, or tampered ciphertext."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    current_id: str

    def aead(self, key_id: str) -> AESGCM:
        try:
            return AESGCM(self.keys[key_id])
        except KeyError:
            raise PiiDecryptionError(f"no PII key with id {key_id!r} is configured") from None


def parse_keys(spec: str) -> KeyRing:
    """Parse "id:base64,id:base64"; each key must decode to exactly 32 bytes (AES-256)."""
    keys: dict[str, bytes] = {}
    current = ""
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or ":" in key_id:
            raise ImproperlyConfigured("PII_ENCRYPTION_KEYS entries must look like key_id:base64-key")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"PII key {key_id!r} is not valid base64") from None
        if len(raw) != 32:
            raise ImproperlyConfigured(f"PII key {key_id!r} must be 32 bytes, not {len(raw)}")
        keys[key_id] = raw
        current = key_id
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS holds no key")
    return KeyRing(keys=keys, current_id=current)


@lru_cache(maxsize=8)
def _ring_for(spec: str, secret: str) -> KeyRing:
    if spec.strip():
        return parse_keys(spec)
    # Development only (see the module docstring): a key derived from SECRET_KEY.
    return KeyRing(keys={DEV_KEY_ID: hashlib.sha256(f"pii-dev-key:{secret}".encode()).digest()}, current_id=DEV_KEY_ID)


def key_ring() -> KeyRing:
    return _ring_for(settings.PII_ENCRYPTION_KEYS, settings.SECRET_KEY)


def encrypt(plaintext: str, *, context: str, ring: KeyRing | None = None) -> str:
    ring = ring or key_ring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.aead(ring.current_id).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}:{ring.current_id}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str:
    prefix, _, rest = stored.partition(":")
    if prefix != PREFIX:
        raise PiiDecryptionError("not an encrypted PII value")
    return rest.partition(":")[0]


def decrypt(stored: str, *, context: str, ring: KeyRing | None = None) -> str:
    ring = ring or key_ring()
    key_id = key_id_of(stored)
    try:
        blob = base64.b64decode(stored.split(":", 2)[2], validate=True)
    except (binascii.Error, ValueError, IndexError):
        raise PiiDecryptionError("malformed PII value") from None
    try:
        plain = ring.aead(key_id).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise PiiDecryptionError(f"PII value under key {key_id!r} failed authentication") from None
    return plain.decode()


def mask(value: str | None) -> str:
    """What an officer without `view_pii` sees: the shape, not the content."""
    if not value:
        return ""
    if len(value) <= 2:
        return "•" * len(value)
    return value[0] + "•" * (len(value) - 2) + value[-1]
