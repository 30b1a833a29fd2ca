"""Prepared statements (`crowdpay.prepared`): prepared once per PostgreSQL connection, then executed
by name; a rollback keeps them, a new connection prepares again, SQLite runs the SQL as written."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from crowdpay.prepared import Prepared, execute

pytestmark = pytest.mark.django_db


def _prepared_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def _answer(statement: Prepared, params) -> tuple:
    with execute(statement, params) as cursor:
        return cursor.fetchone()


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def test_a_statement_is_prepared_once_then_executed_by_name(postgres):
    statement = Prepared("test_sum", "SELECT %s::int + %s::int, '100%%'")
    assert _answer(statement, [2, 3]) == (5, "100%")
    assert statement.name in _prepared_names()
    with CaptureQueriesContext(connection) as queries:
        assert _answer(statement, [4, 5]) == (9, "100%")
    assert [q["sql"] for q in queries.captured_queries] == [f"EXECUTE {statement.name}(4, 5)"]
    assert _prepared_names().count(statement.name) == 1


def test_a_named_parameter_used_twice_is_one_value(postgres):
    statement = Prepared("test_named", "SELECT %(a)s::int * 10 + %(a)s::int + %(b)s::int")
    assert _answer(statement, {"b": 100, "a": 1}) == (111,)


def test_the_first_use_on_a_connection_is_one_statement_as_django_counts_them(postgres):
    statement = Prepared("test_count", "SELECT %s::text")
    with CaptureQueriesContext(connection) as queries:
        assert _answer(statement, ["x"]) == ("x",)
    assert len(queries.captured_queries) == 1  # the PREPARE goes beside Django's cursor


@pytest.mark.django_db(transaction=True)  # closes the connection
def test_a_rollback_keeps_the_statement_and_a_new_connection_prepares_it_again(postgres):
    statement = Prepared("test_rollback", "SELECT %s::int")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert _answer(statement, [1]) == (1,)
        raise RuntimeError("rolled back")
    assert _answer(statement, [2]) == (2,)  # known prepared: EXECUTE only, and it is there
    connection.close()
    assert statement.name not in _prepared_names()
    assert _answer(statement, [3]) == (3,)
    assert statement.name in _prepared_names()


def test_statements_deallocated_behind_its_back_are_prepared_again_after_one_failure(postgres):
    statement, kept, other = (Prepared(f"test_discard_{n}", f"SELECT %s::int + {n}") for n in range(3))
    assert (_answer(statement, [1]), _answer(kept, [1]), _answer(other, [1])) == ((1,), (2,), (3,))
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE ALL; PREPARE {kept.name} AS {kept._prepare.split(' AS ', 1)[1]}")
    with pytest.raises(DatabaseError), transaction.atomic():
        _answer(statement, [2])
    # the session's statements are read back: the missing ones prepared again, the kept one not
    assert (_answer(statement, [3]), _answer(kept, [3]), _answer(other, [3])) == ((3,), (4,), (5,))
    assert {statement.name, kept.name, other.name} <= set(_prepared_names())


def test_with_the_setting_off_the_sql_runs_as_written(postgres, settings):
    settings.DB_PREPARED_STATEMENTS = False
    statement = Prepared("test_off", "SELECT %s::int + 1")
    with CaptureQueriesContext(connection) as queries:
        assert _answer(statement, [1]) == (2,)
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1::int + 1"]
    assert statement.name not in _prepared_names()


def test_sqlite_runs_the_sql_as_written():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite path")
    assert _answer(Prepared("test_sqlite", "SELECT %s + %s"), [2, 3]) == (5,)


def test_a_statement_postgresql_cannot_prepare_fails_as_a_django_database_error(postgres):
    with pytest.raises(DatabaseError), transaction.atomic():
        _answer(Prepared("test_broken", "SELECT %s FROM no_such_table"), [1])


@pytest.mark.parametrize(
    ("label", "sql"),
    [("Bad-label", "SELECT 1"), ("mixed", "SELECT %s, %(a)s")],
)
def test_a_bad_label_or_mixed_placeholders_are_refused(label, sql):
    with pytest.raises(ValueError):
        Prepared(label, sql)
