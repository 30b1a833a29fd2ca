"""The RSA key pair that signs and verifies development tokens.

Production gives only `JWT_PUBLIC_KEY` (tokens come from the identity provider). In development,
`manage.py dev_keys` writes a pair under `var/keys/` (git-ignored) and both the verifier and
`manage.py issue_token` read it when the environment names no key.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PRIVATE_FILE = "jwt_private.pem"
PUBLIC_FILE = "jwt_public.pem"


def _read(name: str) -> str:
    path = Path(settings.JWT_KEY_DIR) / name
    return path.read_text() if path.is_file() else ""


def _pem(value: str) -> str:
    # Environment variables often carry PEMs with literal "\n"; accept both forms.
    return value.replace("\\n", "\n").strip() + "\n" if value else ""


def public_key() -> str:
    key = _pem(settings.JWT_PUBLIC_KEY) or _read(PUBLIC_FILE)
    if not key:
        raise ImproperlyConfigured("JWT_PUBLIC_KEY is not set and no development key exists: run `manage.py dev_keys`")
    return key


def private_key() -> str:
    key = _pem(settings.JWT_PRIVATE_KEY) or _read(PRIVATE_FILE)
    if not key:
        raise ImproperlyConfigured("no private key to sign with: run `manage.py dev_keys` (development only)")
    return key


def ensure_dev_keys() -> bool:
    """Write a 2048-bit RSA pair under JWT_KEY_DIR unless one is there. Returns True if it wrote one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    directory = Path(settings.JWT_KEY_DIR)
    if (directory / PRIVATE_FILE).is_file() and (directory / PUBLIC_FILE).is_file():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (directory / PRIVATE_FILE).write_bytes(private)
    (directory / PRIVATE_FILE).chmod(0o600)
    (directory / PUBLIC_FILE).write_bytes(public)
    return True
