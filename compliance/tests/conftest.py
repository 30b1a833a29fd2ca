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
def committed_db(transactional_db):
    """Committed data (for a live server thread). The append-only tables refuse TRUNCATE, which is
    how the test database is flushed afterwards: the flush's session skips triggers, and that
    session is closed once every fixture is torn down (see `pytest_runtest_teardown`), so the next
    test's connection has its triggers again."""
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        if "committed_db" in getattr(item, "fixturenames", ()):
            connection.close()
