"""Record where each note was written: its location decides who reads it when it is sensitive.

Existing notes get the best location known, in this order: the location of a follow-up written
from the note; the customer's home location when the author works there; a location of the
author's that knows the customer; the customer's home location. Historical copies take their
note's location.
"""

import django.db.models.deletion
from django.db import migrations, models

FILL_NOTES = """
UPDATE customers_note AS n SET location_id = COALESCE(
    (SELECT f.location_id FROM customers_followup AS f WHERE f.note_id = n.id ORDER BY f.id LIMIT 1),
    (SELECT c.home_location_id FROM customers_customer AS c
        JOIN crm_user_locations AS ul ON ul.location_id = c.home_location_id AND ul.user_id = n.author_id
        WHERE c.id = n.customer_id),
    (SELECT ul.location_id FROM crm_user_locations AS ul
        JOIN customers_customer_locations AS cl ON cl.location_id = ul.location_id AND cl.customer_id = n.customer_id
        WHERE ul.user_id = n.author_id ORDER BY ul.location_id LIMIT 1),
    (SELECT c.home_location_id FROM customers_customer AS c WHERE c.id = n.customer_id)
)
WHERE n.location_id IS NULL
"""
FILL_HISTORY = """
UPDATE customers_historicalnote AS h SET location_id = n.location_id
FROM customers_note AS n WHERE n.id = h.id AND h.location_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_security_policy"),
        ("customers", "0011_customer_form_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalnote",
            name="location",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="crm.location",
            ),
        ),
        migrations.AddField(
            model_name="note",
            name="location",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="notes_written", to="crm.location"
            ),
        ),
        # The updates queue deferred foreign-key checks; run them now, or the table cannot be altered next.
        migrations.RunSQL(
            [FILL_NOTES, FILL_HISTORY, "SET CONSTRAINTS ALL IMMEDIATE"], migrations.RunSQL.noop, elidable=False
        ),
        migrations.AlterField(
            model_name="note",
            name="location",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="notes_written", to="crm.location"
            ),
        ),
        migrations.AlterField(
            model_name="historicalnote",
            name="is_sensitive",
            field=models.BooleanField(
                default=False,
                help_text="Health, family trouble: only staff of the location it is written at see it.",
                verbose_name="sensitive",
            ),
        ),
        migrations.AlterField(
            model_name="note",
            name="is_sensitive",
            field=models.BooleanField(
                default=False,
                help_text="Health, family trouble: only staff of the location it is written at see it.",
                verbose_name="sensitive",
            ),
        ),
    ]
