"""Create a believable demo business. Safe to run twice: it updates, never duplicates."""

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from crm.kernel import roles
from crm.kernel.models import Location, User

DEMO_PASSWORD = "microcx-demo"  # noqa: S105 - printed for the demo on purpose

LOCATIONS = [
    ("Clearview Optics Downtown", "14 Market Street\nPortland, ME 04101", "America/New_York"),
    ("Clearview Optics Riverside", "210 River Road\nPortland, ME 04103", "America/New_York"),
]

# username, first, last, role, location indexes
STAFF = [
    ("frontline", "Maya", "Lopez", roles.FRONTLINE, [0]),
    ("manager", "Daniel", "Okafor", roles.MANAGER, [0, 1]),
    ("owner", "Ruth", "Clearwater", roles.OWNER, [0, 1]),
]


class Command(BaseCommand):
    help = "Create or refresh the demo business: locations, one user per role, customers."

    @transaction.atomic
    def handle(self, *args, **options):
        locations = []
        for name, address, tz in LOCATIONS:
            location, _ = Location.objects.update_or_create(name=name, defaults={"address": address, "timezone": tz})
            locations.append(location)
        for username, first, last, role, location_indexes in STAFF:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@clearview.example"},
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.set([Group.objects.get(name=roles.GROUP_NAMES[role])])
            user.locations.set([locations[i] for i in location_indexes])
        staff = list(User.objects.filter(username__in=[s[0] for s in STAFF]).order_by("pk"))
        self.seed_apps(locations, staff)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/ as:"))
        for username, _first, _last, role, _ in STAFF:
            self.stdout.write(f"  {roles.LABELS[role]:<10} username: {username:<10} password: {DEMO_PASSWORD}")

    def seed_apps(self, locations, staff):
        """Each app's own demo data, in dependency order."""
        from crm.demo import outreach as outreach_demo
        from customers import demo as customers_demo
        from journeys import demo as journeys_demo
        from microcx import demo as microcx_demo

        customers = customers_demo.seed(locations, staff)
        visits = journeys_demo.seed(customers, locations, staff)
        microcx_demo.seed(locations, staff, customers)
        outreach_demo.seed(customers, staff)
        self.stdout.write(f"{len(customers)} demo customers, {visits} new interactions.")
        # Raise today's reminders now, so the inbox is full before beat's first sweep.
        from crm.inbox import reminders

        run = reminders.sweep()
        raised = sum(v for k, v in run.raised.items() if k.endswith("raised"))
        self.stdout.write(f"Reminder sweep raised {raised} notifications.")
        # Work out "did it help?" now too: beat's own run is every 15 minutes, and the owner looks first.
        from crm.insights import loyalty

        compared = loyalty.refresh_impact()
        self.stdout.write(f"Did it help?: compared {compared} gesture recipients with look-alikes.")
