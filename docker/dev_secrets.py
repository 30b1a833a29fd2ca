"""Generate local-development secrets once, into a directory shared by the containers.

Usage: python docker/dev_secrets.py DIR. Writes SECRET_KEY, EVENT_HMAC_KEYS, PII_ENCRYPTION_KEYS,
JWT_PUBLIC_KEY (one file each, holding the variable's value) and the JWT pair `jwt_private.pem` /
`jwt_public.pem` (read by `manage.py issue_token`). Nothing is rewritten once DIR holds them, and two
containers starting together cannot end with different keys: the set is built aside and renamed
into place in one step. For docker-compose on a developer's machine only; never for production.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

NAMES = ("SECRET_KEY", "EVENT_HMAC_KEYS", "PII_ENCRYPTION_KEYS", "JWT_PUBLIC_KEY")


def generate() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EVENT_HMAC_KEYS": f"dev1:{secrets.token_hex(32)}",
        "PII_ENCRYPTION_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "JWT_PUBLIC_KEY": public,
        "jwt_public.pem": public,
        "jwt_private.pem": private,
    }


def ensure(directory: Path) -> bool:
    """Create the secrets in `directory` unless they are there; True if this call created them."""
    if all((directory / name).is_file() for name in NAMES):
        return False
    directory.parent.mkdir(parents=True, exist_ok=True)
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()  # an empty leftover
    staging = Path(tempfile.mkdtemp(prefix=".secrets-", dir=directory.parent))
    try:
        for name, value in generate().items():
            path = staging / name
            path.write_text(value)
            path.chmod(0o600)
        try:
            os.rename(staging, directory)  # atomic; fails if another container got there first
        except OSError:
            return False
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: dev_secrets.py DIR")
    ensure(Path(sys.argv[1]))
