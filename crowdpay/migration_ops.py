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
