"""Bearer JWT authentication and scopes: every bad token kind is 401, every missing scope 403."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid

import jwt
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from crowdpay import keys
from crowdpay.api.authentication import Caller, token_backend
from crowdpay.tests.fixtures import ALL_SCOPES, bearer, client_for
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": str(uuid.uuid4()), "scope": ALL_SCOPES, "iat": now, "exp": now + 600, **overrides}


def _get(authorization: str | None):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/v1/wallets")


def _hs256_with_public_key(claims: dict) -> str:
    # PyJWT refuses to HMAC with a PEM key, which is the point; forge the token by hand.
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    signature = hmac.new(keys.public_key().encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _other_rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


BAD_TOKENS = {
    "expired": lambda: jwt.encode(_claims(exp=int(time.time()) - 10), keys.private_key(), algorithm="RS256"),
    "no exp": lambda: jwt.encode(
        {k: v for k, v in _claims().items() if k != "exp"}, keys.private_key(), algorithm="RS256"
    ),
    "malformed": lambda: "not.a.jwt",
    "garbage": lambda: "abc",
    "alg none": lambda: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
    "hs256 signed with the public key": lambda: _hs256_with_public_key(_claims()),
    "signed by another key": lambda: jwt.encode(_claims(), _other_rsa_key(), algorithm="RS256"),
    "tampered payload": lambda: ".".join(
        (jwt.encode(_claims(), keys.private_key(), algorithm="RS256").split(".")[0], _b64(_claims()), "sig")
    ),
    "sub not a uuid": lambda: jwt.encode(_claims(sub="alice"), keys.private_key(), algorithm="RS256"),
    "no sub": lambda: jwt.encode(
        {k: v for k, v in _claims().items() if k != "sub"}, keys.private_key(), algorithm="RS256"
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401(kind):
    response = _get(f"Bearer {BAD_TOKENS[kind]()}")
    assert response.status_code == 401, kind
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_missing_token_is_401_not_authenticated():
    response = _get(None)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic dXNlcjpwYXNz"])
def test_a_malformed_authorization_header_is_401(header):
    assert _get(header).status_code == 401


def test_a_valid_token_authenticates_as_a_stateless_caller(caller):
    token = bearer(caller, "wallet:read wallet:admin").split()[1]
    from crowdpay.api.authentication import BearerToken

    user = Caller(BearerToken(token))
    assert user.id == caller and user.pk == caller and user.is_admin
    assert user.scopes == {"wallet:read", "wallet:admin"} and user.owner_filter() is None
    assert _get(f"Bearer {token}").status_code == 200


def test_scope_may_be_a_json_list(caller):
    token = jwt.encode(_claims(sub=str(caller), scope=["wallet:read"]), keys.private_key(), algorithm="RS256")
    assert _get(f"Bearer {token}").status_code == 200


def test_issuer_and_audience_are_checked_when_configured(settings, caller):
    settings.JWT_ISSUER, settings.JWT_AUDIENCE = "https://id.example", "crowdpay"
    assert token_backend().issuer == "https://id.example"
    right = jwt.encode(
        _claims(sub=str(caller), iss="https://id.example", aud="crowdpay"), keys.private_key(), algorithm="RS256"
    )
    wrong_iss = jwt.encode(_claims(iss="https://evil.example", aud="crowdpay"), keys.private_key(), algorithm="RS256")
    wrong_aud = jwt.encode(_claims(iss="https://id.example", aud="other"), keys.private_key(), algorithm="RS256")
    no_claims = jwt.encode(_claims(), keys.private_key(), algorithm="RS256")
    assert _get(f"Bearer {right}").status_code == 200
    for token in (wrong_iss, wrong_aud, no_claims):
        assert _get(f"Bearer {token}").status_code == 401


# --- scope matrix ---------------------------------------------------------------------------------


def _endpoints(wallet_id) -> list[tuple[str, str, str, dict | None]]:
    other = uuid.uuid4()
    return [
        ("post", "/v1/wallets", "wallet:create", {"base_currency": "USD"}),
        ("get", "/v1/wallets", "wallet:read", None),
        ("get", f"/v1/wallets/{wallet_id}", "wallet:read", None),
        ("get", f"/v1/wallets/{wallet_id}/events", "wallet:read", None),
        (
            "post",
            f"/v1/wallets/{wallet_id}/credit",
            "wallet:credit",
            {"amount": 1, "currency": "USD", "reference": f"ch_test_ok_{uuid.uuid4().hex}"},
        ),
        (
            "post",
            f"/v1/wallets/{wallet_id}/debit",
            "wallet:debit",
            {"amount": 100, "currency": "USD", "destination": "iban:X"},
        ),
        (
            "post",
            "/v1/transfer",
            "wallet:transfer",
            {"from_wallet_id": str(wallet_id), "to_wallet_id": str(other), "amount": 1, "currency": "USD"},
        ),
        (
            "post",
            f"/v1/wallets/{wallet_id}/quotes",
            "wallet:transfer",
            {"from_currency": "USD", "to_currency": "EUR", "amount": 1},
        ),
        ("post", f"/v1/wallets/{wallet_id}/convert", "wallet:transfer", {"quote_id": str(uuid.uuid4())}),
        ("get", f"/v1/operations/{uuid.uuid4()}", "wallet:read", None),
    ]


def test_each_endpoint_is_403_without_its_scope(caller):
    wallet = WalletFactory(owner_id=caller)
    for method, url, scope, body in _endpoints(wallet.id):
        others = " ".join(s for s in (ALL_SCOPES + " wallet:admin").split() if s != scope)
        client = client_for(caller, others)
        response = getattr(client, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["code"] == "insufficient_scope"
        assert scope in response.json()["detail"]


def test_each_endpoint_is_401_without_a_token(caller):
    wallet = WalletFactory(owner_id=caller)
    for method, url, _scope, body in _endpoints(wallet.id):
        response = getattr(APIClient(), method)(url, body, format="json")
        assert response.status_code == 401, (method, url)


def test_each_endpoint_answers_with_its_scope(caller):
    """The scope alone is enough to get past authorization (any answer but 401/403)."""
    wallet = WalletFactory(owner_id=caller)
    for method, url, scope, body in _endpoints(wallet.id):
        client = client_for(caller, scope)
        response = getattr(client, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code not in (401, 403), (method, url, response.content)


# --- issue_token ----------------------------------------------------------------------------------


def test_issue_token_mints_a_token_the_api_accepts(caller):
    out = io.StringIO()
    call_command("issue_token", "--sub", str(caller), "--scope", "wallet:read", "--ttl", "60", stdout=out)
    token = out.getvalue().strip()
    claims = jwt.decode(token, keys.public_key(), algorithms=["RS256"])
    assert claims["sub"] == str(caller) and claims["scope"] == "wallet:read"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert _get(f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    "args",
    [["--sub", "alice"], ["--sub", str(uuid.uuid4()), "--ttl", "0"], ["--sub", str(uuid.uuid4()), "--scope", "x:y"]],
)
def test_issue_token_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("issue_token", *args, stdout=io.StringIO())
