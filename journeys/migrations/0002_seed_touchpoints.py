"""Once seeded the usual touchpoints; now empty, kept for the migration graph.

journeys.catalogue.ensure_catalogue owns the defaults and adds any missing one after every
`migrate` (and after a test database flush), through its post_migrate receiver in journeys/apps.py:
new databases and existing ones alike.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial")]
    operations = []
