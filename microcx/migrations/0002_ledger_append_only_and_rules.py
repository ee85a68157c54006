"""The ledger is append-only in the database itself, and the default discretion rules."""

from decimal import Decimal

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
SQLITE = [
    "CREATE TRIGGER microcx_ledger_no_update BEFORE UPDATE ON microcx_ledgerentry "
    "BEGIN SELECT RAISE(ABORT, 'micro-CX ledger entries are append-only'); END;",
    "CREATE TRIGGER microcx_ledger_no_delete BEFORE DELETE ON microcx_ledgerentry "
    "BEGIN SELECT RAISE(ABORT, 'micro-CX ledger entries are append-only'); END;",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
    DiscretionRule = apps.get_model("microcx", "DiscretionRule")
    for role, limit, cap in (("frontline", "25", "100"), ("manager", "75", "300"), ("owner", "500", "2000")):
        DiscretionRule.objects.get_or_create(
            role=role, defaults={"per_gesture_limit": Decimal(limit), "monthly_cap": Decimal(cap)}
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS microcx_ledger_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS microcx_ledger_no_delete")


class Migration(migrations.Migration):
    dependencies = [("microcx", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
