"""Security: every forged, expired or under-scoped token and every reach into another owner's
wallet is refused on every write endpoint with nothing written; no token or PII reaches a log
line; bandit finds nothing. (The token kinds are test_auth's; the append-only event table and the
tamper-evident chain are proven in wallets/tests/test_integrity.py, `check --deploy` in
test_health.py: `make reliability` runs those too.)"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import ecs_logging
import pytest
from rest_framework.test import APIClient

from crowdpay.models import IdempotencyKey
from crowdpay.tests.fixtures import ALL_SCOPES, bearer, client_for
from crowdpay.tests.test_auth import BAD_TOKENS
from sagas.models import Saga
from wallets.models import Balance, Event, JournalEntry, Wallet
from wallets.tests.factories import WalletFactory, funded

ROOT = Path(__file__).resolve().parents[2]
PII = ("jane.doe@example.com", "+44 20 7946 0000", "GB29NWBK60161331926819")


def _counts():
    return tuple(m.objects.count() for m in (Wallet, Balance, Event, JournalEntry, Saga, IdempotencyKey))


def _writes(wallet_id, other_id):
    return [
        ("/v1/wallets", {"base_currency": "USD", "metadata": {"email": PII[0]}}),
        (
            f"/v1/wallets/{wallet_id}/credit",
            {"amount": 100, "currency": "USD", "reference": f"ch_test_ok_{uuid.uuid4().hex}"},
        ),
        (f"/v1/wallets/{wallet_id}/debit", {"amount": 100, "currency": "USD", "destination": PII[2]}),
        (
            "/v1/transfer",
            {"from_wallet_id": str(wallet_id), "to_wallet_id": str(other_id), "amount": 100, "currency": "USD"},
        ),
    ]


def _post(client, url, body):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["no token", *sorted(BAD_TOKENS)])
def test_a_bad_token_writes_nothing_anywhere(kind):
    wallet, other = funded(amount=500_00), WalletFactory()
    before = _counts()
    client = APIClient()
    if kind != "no token":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_TOKENS[kind]()}")
    for url, body in _writes(wallet.id, other.id):
        response = _post(client, url, body)
        assert response.status_code == 401, (kind, url, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert _counts() == before


@pytest.mark.django_db
def test_a_token_without_the_scope_writes_nothing(caller):
    wallet, other = funded(amount=500_00, owner_id=caller), WalletFactory()
    before = _counts()
    for url, body in _writes(wallet.id, other.id):
        client = client_for(caller, "wallet:read")
        response = _post(client, url, body)
        assert response.status_code == 403, (url, response.content)
        assert response.json()["code"] == "insufficient_scope"
    assert _counts() == before


@pytest.mark.django_db
def test_another_owners_wallet_is_404_everywhere_and_nothing_moves(caller):
    victim = funded(amount=500_00)  # owned by someone else
    mine = funded(amount=500_00, owner_id=caller)
    operation = Saga.objects.create(
        kind=Saga.Kind.FUNDING, wallet=victim, amount=1, currency="USD", reference=f"victim-{uuid.uuid4()}"
    )
    client = client_for(caller, ALL_SCOPES)
    before = _counts()
    for url, body in _writes(victim.id, mine.id)[1:]:  # credit, debit, transfer out of the victim
        response = _post(client, url, body)
        assert response.status_code == 404, (url, response.content)
        assert response.json()["code"] == "wallet_not_found"
    for url in (f"/v1/wallets/{victim.id}", f"/v1/wallets/{victim.id}/events", f"/v1/operations/{operation.id}"):
        assert client.get(url).status_code == 404, url
    assert client.get("/v1/wallets", {"owner_id": str(victim.owner_id)}).json() == []
    # opening a wallet for another owner needs the admin scope
    response = _post(client, "/v1/wallets", {"base_currency": "USD", "owner_id": str(victim.owner_id)})
    assert response.status_code == 403
    assert _counts()[:5] == before[:5]  # refusals on their merits may keep their idempotency record


@pytest.mark.django_db
def test_no_token_or_pii_reaches_a_log_line(caller, settings):
    """Every record of a busy sequence (successes, refusals, a forged token, a crash), formatted as
    production formats it (ECS JSON), holds neither the bearer token nor the PII sent."""
    settings.DEBUG = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ecs_logging.StdlibFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    token = bearer(caller)
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        wallet = funded(amount=500_00, owner_id=caller)
        other = WalletFactory()
        for url, body in _writes(wallet.id, other.id):
            _post(client, url, body)
        _post(client, f"/v1/wallets/{wallet.id}/debit", {"amount": 10**16, "currency": "USD", "destination": PII[2]})
        _post(client, "/v1/wallets", {"base_currency": "USD", "metadata": {"phone": PII[1], "x": "y" * 20000}})
        forged = APIClient()
        forged.credentials(HTTP_AUTHORIZATION=token[:-4] + "AAAA")
        _post(forged, "/v1/wallets", {"base_currency": "USD", "metadata": {"email": PII[0]}})
        with pytest.MonkeyPatch.context() as mp:
            from wallets import services

            def crash(**kwargs):
                raise RuntimeError("boom")

            mp.setattr(services, "wallet_open", crash)
            crashed = _post(client, "/v1/wallets", {"base_currency": "USD", "metadata": {"email": PII[0]}})
            assert crashed.status_code == 500
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3  # the refusals and the crash were logged
    raw_token = token.removeprefix("Bearer ")
    for line in lines:
        assert raw_token not in line and raw_token.split(".")[2] not in line, line[:300]
        for value in PII:
            assert value not in line, line[:300]


def test_bandit_finds_nothing():
    command = [sys.executable, "-m", "bandit", "-c", ".ci/bandit.yaml", "-x", "*/tests/*", "-q", "-f", "txt"]
    command += ["-r", "crowdpay", "wallets", "sagas", "compliance"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
