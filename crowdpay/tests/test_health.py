"""Probes and production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_and_readyz_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok" and ready.json()["broker"] == "ok"


@pytest.mark.django_db
def test_readyz_names_the_broker_that_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "dependency_unavailable" and list(body["failures"]) == ["broker"]


def _production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="crowdpay.settings.production",
        SECRET_KEY="x" * 64 + "-prod-secret-for-the-check-only",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/crowdpay",
        REDIS_URL="redis://127.0.0.1:6379/15",
        JWT_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----",
        EVENT_HMAC_KEYS="prod1:" + "k" * 48,
        PII_ENCRYPTION_KEYS="prod1:" + "A" * 43 + "=",
        KYC_SERVICE_ENDPOINT="https://kyc.example.com/v1",
        KYC_WEBHOOK_SECRET="kyc-webhook-secret-for-the-check-only",
        FUNDING_SERVICE_ENDPOINT="https://psp.example.com/v1",
        FUNDING_WEBHOOK_SECRET="funding-webhook-secret-for-the-check-only",
        ALLOWED_HOSTS="wallet.example.com",
    )
    env.update(overrides)
    return env


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_secrets():
    env = _production_env()
    del env["EVENT_HMAC_KEYS"], env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "EVENT_HMAC_KEYS" in result.stderr


@pytest.mark.parametrize("missing", ["KYC_SERVICE_ENDPOINT", "KYC_WEBHOOK_SECRET"])
def test_production_settings_refuse_the_sandbox_kyc_provider(missing):
    env = _production_env()
    del env[missing]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "refuse the sandbox KYC provider" in result.stderr and missing in result.stderr


@pytest.mark.parametrize("missing", ["FUNDING_SERVICE_ENDPOINT", "FUNDING_WEBHOOK_SECRET"])
def test_production_settings_refuse_the_sandbox_payment_provider(missing):
    env = _production_env()
    del env[missing]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "refuse the sandbox payment provider" in result.stderr and missing in result.stderr


def test_production_refuses_the_sandboxes_whatever_else_is_set():
    """No flag turns a sandbox on in production: only the local stack's own settings module runs
    on them."""
    env = _production_env(CROWDPAY_DEV_SECRETS="1")
    for name in ("KYC_SERVICE_ENDPOINT", "KYC_WEBHOOK_SECRET", "FUNDING_SERVICE_ENDPOINT", "FUNDING_WEBHOOK_SECRET"):
        del env[name]
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0 and "refuse the sandbox" in refused.stderr

    env["DJANGO_SETTINGS_MODULE"] = "crowdpay.settings.local_stack"
    probe = (
        "import django; django.setup(); from sagas.gateways import funding_gateway;"
        "from compliance.kyc_provider import kyc_provider;"
        "print(type(funding_gateway()).__name__, type(kyc_provider()).__name__)"
    )
    local = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert local.returncode == 0, local.stderr[-2000:]
    assert local.stdout.split() == ["SandboxFundingGateway", "SandboxKycProvider"]
