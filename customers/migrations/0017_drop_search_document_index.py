"""Drop the trigram index over search_document: no query reads it since search moved to search_name (0015).

Each customer write (a visit recorded, an import's figures) paid for it: a GIN entry per trigram of the
whole document, 17 MB at 100,000 customers.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_seen_at_index")]
    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS customer_search_trgm",
            "CREATE INDEX IF NOT EXISTS customer_search_trgm "
            "ON customers_customer USING gin (search_document gin_trgm_ops)",
        ),
    ]
