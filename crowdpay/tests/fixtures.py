"""API test fixtures (registered by the root conftest): bearer tokens signed with the development
key pair, and DRF clients acting as a given caller."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from crowdpay.api.tokens import token_issue
from crowdpay.keys import ensure_dev_keys

ALL_SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer"


def bearer(sub: uuid.UUID | str, scope: str = ALL_SCOPES, **claims) -> str:
    return f"Bearer {token_issue(sub=sub, scope=scope, **claims)}"


def client_for(sub: uuid.UUID | str, scope: str = ALL_SCOPES, **claims) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(sub, scope, **claims))
    return client


@pytest.fixture(scope="session", autouse=True)
def jwt_dev_keys():
    ensure_dev_keys()


@pytest.fixture
def caller() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def api(caller) -> APIClient:
    """A client acting as `caller` with every non-admin scope."""
    return client_for(caller)


@pytest.fixture
def admin_api() -> APIClient:
    return client_for(uuid.uuid4(), f"{ALL_SCOPES} wallet:admin")


@pytest.fixture
def caller_wallet(db, caller):
    """A USD wallet of `caller` holding 1,000.00."""
    from wallets.tests.factories import funded

    return funded(amount=1000_00, owner_id=caller)


@pytest.fixture(scope="module")
def truncatable_events(django_db_setup, django_db_blocker):
    """Transactional tests end with a TRUNCATE of every table, which the append-only event table
    refuses on PostgreSQL. Allow it for the module that asks, and restore the guard afterwards."""
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_event DISABLE TRIGGER wallets_event_no_truncate")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_event ENABLE TRIGGER wallets_event_no_truncate")
