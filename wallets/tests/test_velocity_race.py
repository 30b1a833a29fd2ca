"""The 24 h limit holds under a race through the public services: the wallet's own limit, which
compliance owns (`WalletLimit`), is read and checked by the executor under the wallet's lock
(`wallets.limits`), so withdrawals racing each other cannot pass it together (issue: "two concurrent
withdrawals can pass the limit together"), and a limit lowered is in force for the next movement."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from compliance.models import WalletLimit
from wallets import services
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.integrity import reconcile, verify_chains
from wallets.models import VelocityBucket
from wallets.tests.factories import balance_of, funded

RACERS = 20


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_withdrawal_holds_racing_one_wallet_limit_never_pass_it_together():
    if connection.vendor != "postgresql":
        pytest.skip("real parallel PostgreSQL connections")
    wallet = funded(amount=1_000_000)
    WalletLimit.objects.create(wallet=wallet, daily_limit=100_00)
    start = threading.Barrier(RACERS)
    results: list[str] = []

    def racer(n: int) -> None:
        try:
            start.wait()
            services.funds_hold(wallet_id=wallet.id, amount=30_00, currency="USD", reference=f"velocity-race:{n}")
            results.append("ok")
        except LedgerError as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 3, results
    assert results.count(LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED) == RACERS - 3
    assert sum(VelocityBucket.objects.filter(wallet_id=wallet.id).values_list("amount", flat=True)) == 90_00
    assert balance_of(wallet) == (1_000_000, 90_00)
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_the_default_limit_applies_to_a_wallet_without_its_own(settings):
    settings.WALLET_DEFAULT_LIMIT = 50_00
    wallet = funded(amount=1_000_000)
    services.funds_hold(wallet_id=wallet.id, amount=40_00, currency="USD", reference="default-limit:1")
    with pytest.raises(LedgerError) as refused:
        services.funds_hold(wallet_id=wallet.id, amount=20_00, currency="USD", reference="default-limit:2")
    assert refused.value.code == LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED
    assert balance_of(wallet) == (1_000_000, 40_00)


@pytest.mark.django_db
def test_a_limit_lowered_is_in_force_for_the_next_movement():
    # The wallet's own limit is read under its lock by the executor (no copy of it taken before).
    wallet = funded(amount=1_000_000)
    limit = WalletLimit.objects.create(wallet=wallet, daily_limit=100_00)
    services.funds_hold(wallet_id=wallet.id, amount=40_00, currency="USD", reference="lowered:1")
    limit.daily_limit = 50_00
    limit.save()
    with pytest.raises(LedgerError) as refused:
        services.funds_hold(wallet_id=wallet.id, amount=20_00, currency="USD", reference="lowered:2")
    assert refused.value.code == LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED
    assert "above the limit 5000" in str(refused.value)
    services.funds_hold(wallet_id=wallet.id, amount=10_00, currency="USD", reference="lowered:3")
    assert balance_of(wallet) == (1_000_000, 50_00)


@pytest.mark.django_db
def test_the_sql_read_of_a_wallets_own_limit_agrees_with_compliances():
    # On PostgreSQL the executor reads the own limit with `wallet_outflow_limit(uuid)` (installed by
    # compliance's migration); the ORM executor asks `compliance.velocity.own_limit`.
    if connection.vendor != "postgresql":
        pytest.skip("the SQL function exists on PostgreSQL only")
    from compliance.velocity import own_limit

    with_own, without = funded(amount=1), funded(amount=1)
    WalletLimit.objects.create(wallet=with_own, daily_limit=123_45)
    with connection.cursor() as cursor:
        for wallet in (with_own, without):
            cursor.execute("SELECT wallet_outflow_limit(%s)", [wallet.id])
            assert cursor.fetchone()[0] == own_limit(wallet.id)
    assert own_limit(with_own.id) == 123_45 and own_limit(without.id) is None
