"""The search index keeps at most 64 kB of pending entries (ALTER INDEX: no rebuild, no long lock)."""

import django.contrib.postgres.indexes
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0017_drop_search_document_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER INDEX customer_search_name_trgm SET (gin_pending_list_limit = 64)",
                    "ALTER INDEX customer_search_name_trgm RESET (gin_pending_list_limit)",
                )
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="customer", name="customer_search_name_trgm"),
                migrations.AddIndex(
                    model_name="customer",
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=["search_name"],
                        gin_pending_list_limit=64,
                        name="customer_search_name_trgm",
                        opclasses=["gin_trgm_ops"],
                    ),
                ),
            ],
        )
    ]
