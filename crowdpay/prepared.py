"""Prepared statements for the hand-written SQL of the write path, on PostgreSQL.

A statement sent as text is parsed and planned again each time: for the screening context that was
~1.3 ms of the backend's CPU per request, several times its execution. `Prepared(label, sql)` takes
Django's SQL (`%s` or `%(name)s` placeholders) and runs it as a session-level prepared statement:
`PREPARE` once per database connection (its own round trip, the first time the connection meets
the statement), then `EXECUTE name(…)` with the values, so PostgreSQL plans it from its cache.
The EXECUTE still goes through Django's cursor: query logging, the tests' query capture and the
tracing of psycopg's cursor see it as any other statement. On SQLite, or with the setting
DB_PREPARED_STATEMENTS off (a pooler in transaction mode hands a session's statements to other
clients' transactions), the SQL runs as written.

A prepared statement belongs to the session, not the transaction: a rollback keeps it, so which
statements a connection has is known from what was prepared on it (kept beside the connection,
forgotten with it). The names carry a digest of the SQL, so a changed statement is a new name.
Should they vanish behind this module's back (`DISCARD ALL`, `DEALLOCATE ALL`; psycopg sends the
latter after a rollback once it has prepared statements of its own, i.e. with Django's
`server_side_binding`, which this project does not use), the statement that meets the error fails
and the next use reads the session's statements back from `pg_prepared_statements`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MISSING = "26000"  # invalid_sql_statement_name: "prepared statement … does not exist"


class Prepared:
    """One statement, prepared on each PostgreSQL connection that runs it (module docstring)."""

    def __init__(self, label: str, sql: str) -> None:
        if not _NAME.match(label):
            raise ValueError(f"a prepared statement's label is lower-case letters, digits and _: {label!r}")
        self.sql = sql
        self.name = f"{label}_{hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:12]}"
        numbers: dict[str, int] = {}
        order: list[str | int] = []  # per $n: the parameter's name, or its position among the %s

        def number(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"  # the PREPARE's text is sent without parameters: no escaping
            if match.group(1) is None:
                order.append(len(order))
                return f"${len(order)}"
            name = match.group(1)
            if name not in numbers:
                order.append(name)
                numbers[name] = len(order)
            return f"${numbers[name]}"

        self._prepare = f"PREPARE {self.name} AS {_PLACEHOLDER.sub(number, sql)}"
        if any(isinstance(key, str) for key in order) and any(isinstance(key, int) for key in order):
            raise ValueError("a statement's placeholders are either all %s or all %(name)s")
        self._order = order
        self._execute = f"EXECUTE {self.name}" + (f"({', '.join(['%s'] * len(order))})" if order else "")

    def execute(self, cursor: CursorWrapper, params: Sequence[Any] | Mapping[str, Any] = ()) -> None:
        """Run the statement on `cursor` (a Django cursor); read its rows from the cursor as usual."""
        db = cursor.db
        if db.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
            cursor.execute(self.sql, params)
            return
        names = _prepared_on(db)
        if self.name not in names:
            # Not through Django's cursor: a statement count (a test's, the debug log's) is the same
            # on a fresh connection as on one that has prepared it already. Its errors are Django's.
            with db.wrap_database_errors:
                db.connection.execute(self._prepare)
            names.add(self.name)
        values = [params[key] for key in self._order]  # type: ignore[index]
        try:
            cursor.execute(self._execute, values)
        except Exception as exc:
            if getattr(exc.__cause__, "sqlstate", None) == _MISSING:
                _forget(db)  # deallocated behind our back: read back from the server on the next use
            raise


_HELD = "_crowdpay_prepared"  # on Django's connection wrapper: (the driver's connection, its statement names)


def _prepared_on(db: BaseDatabaseWrapper) -> set[str]:
    """The statements prepared on `db`'s current connection: none on a new connection, the server's
    list after `_forget`."""
    db.ensure_connection()
    raw = db.connection
    held = getattr(db, _HELD, None)
    if held is None or held[0] is not raw:
        held = (raw, set())
    elif held[1] is None:
        held = (raw, {name for (name,) in raw.execute("SELECT name FROM pg_prepared_statements").fetchall()})
    else:
        return held[1]
    setattr(db, _HELD, held)
    return held[1]


def _forget(db: BaseDatabaseWrapper) -> None:
    held = getattr(db, _HELD, None)
    if held is not None:
        setattr(db, _HELD, (held[0], None))


@functools.lru_cache(maxsize=128)
def statement(label: str, sql: str) -> Prepared:
    """The `Prepared` of a statement whose SQL is built at run time (a few variants each)."""
    return Prepared(label, sql)


def execute(prepared: Prepared, params: Sequence[Any] | Mapping[str, Any] = (), *, db=None) -> CursorWrapper:
    """`prepared` run on a new cursor of `db` (the default database); the caller closes it."""
    cursor = (db or default_connection).cursor()
    prepared.execute(cursor, params)
    return cursor
