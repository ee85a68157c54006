"""Fold every customer's search document (lower case, no accents), as search now folds what staff type."""

from django.db import migrations

BATCH = 2000


def refold(apps, schema_editor):
    from crm.kernel.text import fold

    Customer = apps.get_model("customers", "Customer")
    last = 0
    while True:
        batch = list(Customer.objects.filter(pk__gt=last).order_by("pk").only("pk", "search_document")[:BATCH])
        if not batch:
            return
        for customer in batch:
            customer.search_document = fold(customer.search_document)
        Customer.objects.bulk_update(batch, ["search_document"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_suggestion_gesture_idea")]

    operations = [migrations.RunPython(refold, migrations.RunPython.noop)]
