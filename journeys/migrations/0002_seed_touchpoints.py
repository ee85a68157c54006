"""Seed the usual touchpoints of a small business; managers edit and retire them later."""

from django.db import migrations

# slug, name, channel, stage, icon
TOUCHPOINTS = [
    ("search", "Search", "online", "before", "search"),
    ("social-media", "Social media", "online", "before", "instagram"),
    ("email", "Email", "online", "after", "envelope"),
    ("blog", "Blog", "online", "before", "journal-text"),
    ("website", "Website", "online", "before", "globe"),
    ("contact-form", "Contact form", "online", "before", "ui-checks"),
    ("online-booking", "Online booking", "online", "during", "calendar-check"),
    ("in-store", "In store", "offline", "during", "shop"),
    ("phone", "Phone", "offline", "during", "telephone"),
    ("direct-mail", "Direct mail", "offline", "before", "mailbox"),
    ("outdoor-advertising", "Outdoor advertising", "offline", "before", "signpost"),
    ("word-of-mouth", "Word of mouth", "offline", "before", "people"),
    ("events", "Events", "offline", "before", "balloon"),
    ("support", "Support and complaints", "offline", "after", "life-preserver"),
]


def seed(apps, schema_editor):
    Touchpoint = apps.get_model("journeys", "Touchpoint")
    for position, (slug, name, channel, stage, icon) in enumerate(TOUCHPOINTS):
        Touchpoint.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "channel": channel, "stage": stage, "icon": icon, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
