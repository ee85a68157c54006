"""Trigram search over customers."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]
    operations = [
        TrigramExtension(),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS customer_search_trgm "
            "ON customers_customer USING gin (search_document gin_trgm_ops)",
            "DROP INDEX IF EXISTS customer_search_trgm",
        ),
    ]
