"""Budget periods cannot overlap, the ledger cannot be truncated, and each gesture knows its month.

- btree_gist lets one exclusion constraint compare the location (=) and the period's days (&&),
  replacing the unique (location, starts_on), which let a month and a quarter both cover March.
- A statement-level trigger refuses TRUNCATE of the ledger (the row-level one refuses UPDATE and
  DELETE). Only a transaction that sets crm.allow_ledger_truncate = on may (`manage.py flush`,
  which test databases use between transactional tests, does: microcx/management/commands/flush.py).
- Gesture.month is the first day of the proposing location's local month, filled in here from
  created_at in the location's own time zone.
"""

import zoneinfo

import django.contrib.postgres.constraints
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

import microcx.models

NO_TRUNCATE = """
CREATE OR REPLACE FUNCTION microcx_ledger_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('crm.allow_ledger_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'micro-CX ledger entries are append-only: TRUNCATE is not allowed',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER microcx_ledger_no_truncate BEFORE TRUNCATE ON microcx_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION microcx_ledger_no_truncate();
"""
NO_TRUNCATE_REVERSE = """
DROP TRIGGER IF EXISTS microcx_ledger_no_truncate ON microcx_ledgerentry;
DROP FUNCTION IF EXISTS microcx_ledger_no_truncate();
"""


def fill_months(apps, schema_editor):
    Gesture = apps.get_model("microcx", "Gesture")
    for gesture in Gesture.objects.select_related("location").only("created_at", "location__timezone").iterator():
        local = gesture.created_at.astimezone(zoneinfo.ZoneInfo(gesture.location.timezone)).date()
        Gesture.objects.filter(pk=gesture.pk).update(month=local.replace(day=1))


class Migration(migrations.Migration):
    dependencies = [("microcx", "0002_ledger_append_only_and_rules")]

    operations = [
        BtreeGistExtension(),
        migrations.RemoveConstraint(model_name="budget", name="budget_one_per_period"),
        migrations.AddConstraint(
            model_name="budget",
            constraint=models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="budget_period_order"
            ),
        ),
        migrations.AddConstraint(
            model_name="budget",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                expressions=[
                    ("location", "="),
                    (microcx.models.PeriodRange("starts_on", "ends_on"), "&&"),
                ],
                name="budget_periods_do_not_overlap",
            ),
        ),
        migrations.RunSQL(NO_TRUNCATE, NO_TRUNCATE_REVERSE),
        migrations.AddField(
            model_name="gesture",
            name="approval_reason",
            field=models.CharField(blank=True, editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="gesture",
            name="month",
            field=models.DateField(editable=False, null=True),
        ),
        migrations.RunPython(fill_months, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="gesture",
            name="month",
            field=models.DateField(editable=False),
        ),
        migrations.AddIndex(
            model_name="gesture",
            index=models.Index(fields=["proposed_by", "month"], name="gesture_by_person_month"),
        ),
    ]
