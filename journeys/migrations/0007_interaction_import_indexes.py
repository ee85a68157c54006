"""Fewer indexes to keep up on each interaction an import adds (issue 18).

customer_id and location_id lose their own indexes: interaction_customer_recent and
interaction_location_recent lead with them and serve the same lookups (a customer's or a shop's
interactions, the cascade and protect checks). staff_id is indexed only where set (imports set none).
external_ref stays unique by a constraint, without the varchar_pattern_ops LIKE index unique=True makes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0015_business_track_email"),
        ("customers", "0015_search_name"),
        ("journeys", "0006_customer_origin"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="interaction",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="interactions",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="external_ref",
            field=models.CharField(blank=True, max_length=100, null=True),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="location",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="crm.location",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="staff",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("staff__isnull", False)), fields=["staff"], name="interaction_staff"
            ),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.UniqueConstraint(fields=("external_ref",), name="interaction_external_ref_unique"),
        ),
    ]
