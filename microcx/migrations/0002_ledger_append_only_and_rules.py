"""The ledger is append-only in the database itself.

The default discretion rules were once seeded here too; microcx.services.discretion.ensure_default_rules
owns them now and adds any missing one after every `migrate`, through its post_migrate receiver.
"""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION microcx_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'micro-CX ledger entries are append-only: ' || TG_OP || ' is not allowed',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER microcx_ledger_no_update BEFORE UPDATE OR DELETE ON microcx_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION microcx_ledger_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS microcx_ledger_no_update ON microcx_ledgerentry;
DROP FUNCTION IF EXISTS microcx_ledger_append_only();
"""


def forwards(apps, schema_editor):
    schema_editor.execute(POSTGRES)


def backwards(apps, schema_editor):
    schema_editor.execute(POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("microcx", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
