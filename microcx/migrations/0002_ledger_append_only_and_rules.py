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


def forwards(apps, schema_editor):
    schema_editor.execute(POSTGRES)
    DiscretionRule = apps.get_model("microcx", "DiscretionRule")
    for role, limit, cap in (("frontline", "25", "100"), ("manager", "75", "300"), ("owner", "500", "2000")):
        DiscretionRule.objects.get_or_create(
            role=role, defaults={"per_gesture_limit": Decimal(limit), "monthly_cap": Decimal(cap)}
        )


def backwards(apps, schema_editor):
    schema_editor.execute(POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("microcx", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
