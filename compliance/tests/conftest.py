"""Fixtures for the compliance tests."""

from __future__ import annotations

import pytest
from django.db import connection

from compliance.tests.factories import officer_user, profile
from wallets.tests.factories import funded


@pytest.fixture
def officer(db):
    return officer_user("olivia")


@pytest.fixture
def verified_wallet(db):
    """A USER wallet with 1,000.00 USD whose owner passed KYC."""
    wallet = funded(amount=1000_00)
    profile(wallet.owner_id)
    return wallet


@pytest.fixture
def _triggers_back_on():
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def committed_db(_triggers_back_on, transactional_db):
    """Committed data (for a live server thread). The append-only tables refuse TRUNCATE, which is
    how the test database is flushed afterwards: let the flush's session skip triggers, and turn
    them back on after it."""
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
