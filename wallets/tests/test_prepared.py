"""The engine's prepared statements: prepared once per connection, again on a new one, and kept
through a rolled-back movement; array parameters fall back to psycopg for anything needing quotes."""

import uuid

import pytest
from django.db import connection

from wallets import ledger, services
from wallets.errors import LedgerError
from wallets.integrity import reconcile
from wallets.tests.factories import balance_of, funded

pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def transfer(source, destination, amount=1):
    return services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=destination.id, amount=amount, currency="USD"
    )


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name = ANY(%s)", [list(ledger.Prepared._all)])
        return {row[0] for row in cursor.fetchall()}


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again_and_a_refused_movement_keeps_them():
    source, destination = funded(amount=100), funded(amount=1)
    transfer(source, destination)
    assert prepared_names() == set(ledger.Prepared._all)

    connection.close()  # the next movement runs on a new session, which has no prepared statements
    transfer(source, destination)
    assert prepared_names() == set(ledger.Prepared._all)

    with pytest.raises(LedgerError):  # refused under the lock: its transaction rolls back
        transfer(source, destination, amount=1_000)
    transfer(source, destination)
    assert balance_of(source) == (97, 0) and balance_of(destination) == (4, 0)
    assert reconcile() == []


def test_array_parameters_are_one_literal_unless_an_element_needs_quoting():
    wallet = uuid.uuid4()
    assert ledger._array([3, -1, 0]) == "{3,-1,0}"
    assert ledger._array(iter([wallet])) == "{" + str(wallet) + "}"
    assert ledger._array(["USD", "EUR"]) == "{USD,EUR}"
    assert ledger._array(["a b", "USD"]) == ["a b", "USD"]
    assert ledger._array([""]) == [""]


def test_a_prepared_statement_checks_its_number_of_values():
    with pytest.raises(TypeError):
        ledger.Prepared._all["ledger_journal_by_reference"]("a", "b")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_generic_plans_probe_indexes_instead_of_joining_a_parameter_set():
    """A prepared statement runs a generic plan that cannot know how many values an array holds;
    the engine's statements must not join one (that planned as a hash join over the whole table)."""
    source, destination = funded(amount=100), funded(amount=1)
    transfer(source, destination)  # prepares every statement on this connection
    samples = {
        "ledger_lock_wallets": f"'{{{source.id},{destination.id}}}'",
        "ledger_lock_balances": f"'{{{source.id},{destination.id}}}', '{{USD}}'",
        "ledger_update_balance": "1, 0, 0",
        "ledger_update_head": f"'{source.id}', 1, 1, 'x'",
        "ledger_journal_by_reference": "'r'",
    }
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for name, args in samples.items():
                cursor.execute(f"EXPLAIN EXECUTE {name}({args})")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Join" not in plan and "Function Scan" not in plan, (name, plan)
        finally:
            cursor.execute("RESET plan_cache_mode")
