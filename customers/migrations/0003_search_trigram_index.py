"""Trigram search over customers, on PostgreSQL only (SQLite, the laptop default, falls back to LIKE)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS customer_search_trgm "
            "ON customers_customer USING gin (search_document gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]
    operations = [TrigramExtension(), migrations.RunPython(create_index, drop_index)]
