"""Migration operations shared by the apps."""

from django.db import migrations


def append_only(table: str) -> migrations.RunPython:
    """On PostgreSQL, a trigger that refuses UPDATE and DELETE on `table`: append-only at the
    database. TRUNCATE, a table owner's privilege, is left to the test suite's flush; the service's
    database role in production should not own its tables. Elsewhere (SQLite) a no-op."""
    name = f"{table}_append_only"
    create = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    drop = f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();"

    def run(sql: str):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql, params=None)

        return operation

    return migrations.RunPython(run(create), run(drop))


def foreign_keys_immediate(*columns: tuple[str, str]) -> migrations.RunPython:
    """On PostgreSQL, make the foreign keys on these (table, column) pairs `NOT DEFERRABLE`, so each
    is checked (its FOR KEY SHARE lock on the referenced row taken) by the statement that needs it,
    not at COMMIT after every other lock (see the "Lock order" rule in `wallets.ledger`). Django
    creates them `DEFERRABLE INITIALLY DEFERRED` and keeps no trace of this in its model state, so
    `makemigrations` sees no change; a later migration that re-creates one of these constraints must
    run this again (a test checks the catalogue). The constraints are found by column, not by
    Django's generated name. Reversed: deferred again. Elsewhere (SQLite) a no-op: a writer holds
    the whole database there, so no two can deadlock."""
    find = """
SELECT c.conname FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s
"""

    def alter(mode: str):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                return
            quote = schema_editor.quote_name
            with schema_editor.connection.cursor() as cursor:
                for table, column in columns:
                    cursor.execute(find, [table, column])
                    names = [name for (name,) in cursor.fetchall()]
                    if not names:
                        raise RuntimeError(f"no foreign key on {table}.{column}")
                    for name in names:
                        schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER CONSTRAINT {quote(name)} {mode}")

        return operation

    return migrations.RunPython(alter("NOT DEFERRABLE"), alter("DEFERRABLE INITIALLY DEFERRED"))
