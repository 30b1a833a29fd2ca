"""On PostgreSQL the audit log refuses UPDATE and DELETE of its rows: append-only at the database.
(TRUNCATE, a table owner's privilege, is left to the test suite's flush; the service's database role
should not own its tables.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION compliance_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'compliance_auditentry is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER compliance_auditentry_append_only
    BEFORE UPDATE OR DELETE ON compliance_auditentry
    FOR EACH ROW EXECUTE FUNCTION compliance_auditentry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS compliance_auditentry_append_only ON compliance_auditentry;
DROP FUNCTION IF EXISTS compliance_auditentry_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
