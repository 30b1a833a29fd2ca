"""Bearer JWT authentication: RS256 only, verified with `crowdpay.keys.public_key()`.

The algorithm is fixed here, never taken from the token's header, so an unsigned token
(`alg: none`) or one HMAC-signed with the public key as its secret is refused like any forgery.
Tokens come from an identity provider: no database user stands behind them. The request's user
is a stateless `Caller` carrying `sub` (a UUID) and the set of scopes the token grants.
`iss` and `aud` are checked when JWT_ISSUER / JWT_AUDIENCE are configured.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import cached_property, lru_cache

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

from crowdpay import keys

ALGORITHM = "RS256"
ADMIN_SCOPE = "wallet:admin"


@lru_cache(maxsize=4)
def _backend(public_key: str, issuer: str, audience: str) -> TokenBackend:
    return TokenBackend(
        ALGORITHM,
        signing_key=None,
        verifying_key=public_key,
        issuer=issuer or None,
        audience=audience or None,
        leeway=settings.SIMPLE_JWT.get("LEEWAY", 0),
    )


def token_backend() -> TokenBackend:
    """The verifier for the configured key, issuer and audience (rebuilt when any of them changes)."""
    return _backend(keys.public_key(), settings.JWT_ISSUER, settings.JWT_AUDIENCE)


class BearerToken(Token):
    """An access token from the identity provider: it must carry `exp`; no `token_type` or `jti`
    is required (simplejwt's own claims), since we never mint refresh tokens."""

    token_type = "access"  # noqa: S105 - a token kind, not a secret  # nosec B105
    # simplejwt wants a default lifetime; a verified token's lifetime is its own `exp`.
    lifetime = timedelta(minutes=15)

    def get_token_backend(self) -> TokenBackend:
        return token_backend()

    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()


class Caller(TokenUser):
    """The authenticated caller: `id` is the token's `sub` as a UUID, `scopes` its granted scopes."""

    @cached_property
    def id(self) -> uuid.UUID:  # type: ignore[override]  # by design: the sub as a UUID, not TokenUser's str
        return uuid.UUID(str(self.token["sub"]))

    @cached_property
    def scopes(self) -> frozenset[str]:
        raw = self.token.get("scope", "")
        if isinstance(raw, str):
            return frozenset(raw.split())
        if isinstance(raw, list | tuple):
            return frozenset(str(s) for s in raw)
        return frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def owner_filter(self) -> uuid.UUID | None:
        """The owner whose wallets this caller may touch; None means any (the admin scope)."""
        return None if self.is_admin else self.id


class BearerTokenAuthentication(JWTStatelessUserAuthentication):
    www_authenticate_realm = "crowdpay"

    def get_user(self, validated_token: Token) -> Caller:  # type: ignore[override]  # simplejwt: unbound TypeVar
        sub = validated_token.get("sub")
        try:
            uuid.UUID(str(sub))
        except (TypeError, ValueError):
            # simplejwt annotates `detail` as str, yet passes lazy strings there itself
            raise InvalidToken(_("the token's `sub` must be a UUID")) from None  # type: ignore[arg-type]
        return Caller(validated_token)
