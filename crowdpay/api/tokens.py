"""Minting development tokens with the local private key (`manage.py issue_token`, tests).
Production tokens come from the identity provider; this service only verifies them."""

from __future__ import annotations

import time
import uuid

import jwt
from django.conf import settings

from crowdpay import keys

from .authentication import ALGORITHM


def token_issue(*, sub: uuid.UUID | str, scope: str, ttl: int = 3600, **claims: object) -> str:
    now = int(time.time())
    payload: dict = {"sub": str(sub), "scope": scope, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    if settings.JWT_ISSUER:
        payload["iss"] = settings.JWT_ISSUER
    if settings.JWT_AUDIENCE:
        payload["aud"] = settings.JWT_AUDIENCE
    payload.update(claims)
    return jwt.encode(payload, keys.private_key(), algorithm=ALGORITHM)
