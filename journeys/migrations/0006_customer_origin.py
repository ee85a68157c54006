"""Where a customer first heard of us moves from customers_customer.heard_via_id to journeys.

customers 0002 no longer adds that column (customers knows nothing of journeys), so only databases
made before this change have it: their values are copied here, every one, then the column goes.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVE = """
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'customers_customer' AND column_name = 'heard_via_id'
    ) THEN
        INSERT INTO journeys_customerorigin (customer_id, touchpoint_id)
            SELECT id, heard_via_id FROM customers_customer WHERE heard_via_id IS NOT NULL
            ON CONFLICT (customer_id) DO NOTHING;
        ALTER TABLE customers_customer DROP COLUMN heard_via_id;
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_encrypt_derived_text"),
        ("journeys", "0005_import_permission"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerOrigin",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="origin",
                        serialize=False,
                        to="customers.customer",
                    ),
                ),
                (
                    "touchpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="journeys.touchpoint",
                        verbose_name="first heard of us via",
                    ),
                ),
            ],
        ),
        # Backwards the values stay in journeys_customerorigin until it is dropped: customers has no column
        # to take them back.
        migrations.RunSQL(MOVE, migrations.RunSQL.noop),
    ]
