"""Fill the reminder schedule (next-due days) of rows created before it existed."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import migrations

from customers import schedule


def fill(apps, schema_editor):
    today = datetime.datetime.now(zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE)).date()
    ImportantDate = apps.get_model("customers", "ImportantDate")
    FollowUp = apps.get_model("customers", "FollowUp")
    Customer = apps.get_model("customers", "Customer")
    batch = []
    for row in ImportantDate.objects.filter(next_prompt_on__isnull=True).iterator(chunk_size=2000):
        row.next_occurrence_on, row.next_prompt_on = schedule.date_prompt(row.month, row.day, row.lead_days, today)
        batch.append(row)
        if len(batch) == 2000:
            ImportantDate.objects.bulk_update(batch, ["next_occurrence_on", "next_prompt_on"])
            batch = []
    ImportantDate.objects.bulk_update(batch, ["next_occurrence_on", "next_prompt_on"])
    for follow_up in FollowUp.objects.filter(status="open", due="on_date", next_reminder_on__isnull=True):
        follow_up.next_reminder_on = max(follow_up.due_date, today)
        follow_up.save(update_fields=["next_reminder_on"])
    for customer in Customer.objects.filter(customer_since__isnull=False, next_anniversary_on__isnull=True):
        found = schedule.customer_anniversary(customer.customer_since, today)
        if found:
            customer.next_anniversary_on = found[0]
            customer.save(update_fields=["next_anniversary_on"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_customer_keep_in_touch_days_and_more")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
