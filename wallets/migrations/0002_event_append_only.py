"""On PostgreSQL the event table refuses UPDATE and DELETE: the stream is append-only at the database.

TRUNCATE is a table owner's privilege, not a row operation: the service's database role in
production should not own the tables (the test suite needs TRUNCATE to reset between tests)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallets_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallets_event_append_only
    BEFORE UPDATE OR DELETE ON wallets_event
    FOR EACH ROW EXECUTE FUNCTION wallets_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS wallets_event_append_only ON wallets_event;
DROP FUNCTION IF EXISTS wallets_event_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
