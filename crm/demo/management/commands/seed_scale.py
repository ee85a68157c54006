"""Make large synthetic data with bulk inserts, for benchmarks.

    python manage.py seed_scale --customers 100000 --notes-per-customer 10

Adds to what is there (run it on an empty benchmark database). On PostgreSQL
the large tables are filled with COPY; elsewhere with bulk_create.
"""

import datetime
import itertools
import random
import time
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.en_US import Provider as Names

from crm.kernel import bulk, encryption, roles
from crm.kernel.fields import EncryptedTextField
from crm.kernel.models import Location, User
from customers import schedule
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Tag

FIRST_NAMES = sorted(set(Names.first_names_female) | set(Names.first_names_male))
LAST_NAMES = sorted(set(Names.last_names))
TAGS = ["regular", "vip", "contact lenses", "varifocals", "sports glasses", "designer frames", "new"]
NOTES = [
    "Bought two pairs of glasses",
    "Prefers tortoiseshell frames",
    "Her dog {name} is sick",
    "Flying to Lisbon next month",
    "Asked about blue-light lenses",
    "Just got engaged",
    "Started a new job downtown",
    "Allergic to nickel frames",
    "Son {name} starts school in September",
    "Prefers appointments in the morning",
]


class Command(BaseCommand):
    help = "Bulk-insert synthetic customers, people, dates, notes and follow-ups for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--locations", type=int, default=5)
        parser.add_argument("--notes-per-customer", type=float, default=2.0)
        parser.add_argument("--dates-per-customer", type=float, default=2.0)
        parser.add_argument("--people-per-customer", type=float, default=1.0)
        parser.add_argument("--follow-ups-per-customer", type=float, default=0.5)
        parser.add_argument("--interactions-per-customer", type=float, default=2.0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        self.rng = random.Random(options["seed"])
        self.started = time.monotonic()
        locations, staff = self.seed_locations_and_staff(options["locations"])
        first_pk = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        count = options["customers"]
        self.seed_customers(count, locations, first_pk)
        pks = range(first_pk, first_pk + count)
        self.seed_people(pks, options["people_per_customer"])
        self.seed_dates(pks, options["dates_per_customer"])
        self.seed_notes(pks, staff, locations, options["notes_per_customer"])
        self.seed_follow_ups(pks, staff, locations, options["follow_ups_per_customer"])
        self.seed_interactions(pks, staff, locations, options["interactions_per_customer"])
        # Statistics for the planner and the search index's pending entries merged, as after any bulk load.
        bulk.tidy()
        self.say(f"done: {count:,} customers")

    def say(self, message: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self.started:6.1f}s] {message}")

    def seed_locations_and_staff(self, how_many: int):
        locations = [Location.objects.get_or_create(name=f"Scale shop {i + 1}")[0] for i in range(how_many)]
        frontline = Group.objects.get(name=roles.GROUP_NAMES[roles.FRONTLINE])
        staff = []
        for i, location in enumerate(locations):
            user, created = User.objects.get_or_create(
                username=f"scale-staff-{i + 1}", defaults={"first_name": "Staff"}
            )
            if created:
                user.set_unusable_password()
                user.save()
                user.groups.add(frontline)
            user.locations.add(location)
            staff.append(user)
        return locations, staff

    def insert(self, model, rows) -> int:
        """Insert rows (dicts of field name to value) with COPY."""
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return 0
        fields = list(first)
        total = 0
        columns = ", ".join(model._meta.get_field(f).column for f in fields)
        # COPY bypasses the fields' own conversion, so encrypted ones (note text) are encrypted here.
        encrypted = {f for f in fields if isinstance(model._meta.get_field(f), EncryptedTextField)}
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for row in itertools.chain([first], rows):
                copy.write_row([encryption.encrypt(row[f]) if f in encrypted else row[f] for f in fields])
                total += 1
        return total

    @transaction.atomic
    def seed_customers(self, count: int, locations: list[Location], first_pk: int) -> None:
        rng, now = self.rng, timezone.now()
        today = timezone.localdate()
        tag_pks = {name: Tag.objects.get_or_create(name=name)[0].pk for name in TAGS}
        customer_tags: list[dict] = []

        def rows():
            for pk in range(first_pk, first_pk + count):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}.{pk}@example.com".lower()
                phone = f"+1{rng.randint(201, 989)}555{pk % 10_000:04d}"
                tags = rng.sample(TAGS, rng.randint(0, 2))
                customer_tags.extend({"customer": pk, "tag": tag_pks[name]} for name in tags)
                visits = rng.randint(0, 30)
                last_visit = now - datetime.timedelta(days=rng.randint(0, 200)) if visits else None
                location = locations[pk % len(locations)]
                since = today - datetime.timedelta(days=rng.randint(0, 3650))
                anniversary = schedule.customer_anniversary(since, today)
                # One in ten keeps in touch twice a year: about 1% of customers are due at any time.
                cadence = 180 if visits and rng.random() < 0.1 else None
                yield {
                    "id": pk,
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "phone": phone,
                    "home_location": location.pk,
                    "customer_since": since,
                    "first_visit_at": last_visit - datetime.timedelta(days=rng.randint(30, 2000)) if visits else None,
                    "last_visit_at": last_visit,
                    "last_visit_location": location.pk if visits else None,
                    "visit_count": visits,
                    "last_contact_at": last_visit,
                    "keep_in_touch_days": cadence,
                    "keep_in_touch_due_on": schedule.keep_in_touch_due(last_visit.date(), cadence) if cadence else None,
                    "next_anniversary_on": anniversary[0] if anniversary else None,
                    "search_document": Customer(
                        first_name=first, last_name=last, email=email, phone=phone
                    ).build_search_document(tags),
                    "preferred_name": "",
                    "external_id": "",
                    "preferences": "",
                    "created_at": now,
                    "updated_at": now,
                }

        self.insert(Customer, rows())
        self.say(f"{count:,} customers")
        self.insert(Customer.tags.through, customer_tags)
        self.insert(
            Customer.locations.through,
            (
                {"customer": pk, "location": locations[pk % len(locations)].pk}
                for pk in range(first_pk, first_pk + count)
            ),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                "(SELECT MAX(id) FROM customers_customer))"
            )
        self.say("customer tags and locations")

    @transaction.atomic
    def seed_people(self, pks: range, per_customer: float) -> None:
        rng, now = self.rng, timezone.now()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    relation = rng.choice(["partner", "child", "pet", "pet", "parent"])
                    yield {
                        "customer": pk,
                        "name": rng.choice(FIRST_NAMES),
                        "relation": relation,
                        "species": rng.choice(["dog", "cat"]) if relation == "pet" else "",
                        "notes": "",
                        "created_at": now,
                    }

        self.say(f"{self.insert(Person, rows()):,} people and pets")

    @transaction.atomic
    def seed_dates(self, pks: range, per_customer: float, not_due_for_days: int = 0) -> None:
        """Add important dates; with not_due_for_days, none falls within that many days from today."""
        rng, now = self.rng, timezone.now()
        today = timezone.localdate()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    kind = rng.choice(["birthday", "birthday", "wedding", "custom"])
                    occurrence = today + datetime.timedelta(days=rng.randint(not_due_for_days, 364))
                    month, day = occurrence.month, occurrence.day
                    occurrence, prompt_on = schedule.date_prompt(month, day, 3, today)
                    yield {
                        "customer": pk,
                        "kind": kind,
                        "label": "Shop anniversary" if kind == "custom" else "",
                        "month": month,
                        "day": day,
                        "year": rng.randint(1950, 2020) if rng.random() < 0.6 else None,
                        "lead_days": 3,
                        "created_at": now,
                        "next_occurrence_on": occurrence,
                        "next_prompt_on": prompt_on,
                    }

        self.say(f"{self.insert(ImportantDate, rows()):,} important dates")

    @transaction.atomic
    def seed_notes(self, pks: range, staff: list[User], locations: list[Location], per_customer: float) -> None:
        rng, now = self.rng, timezone.now()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    at = now - datetime.timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
                    yield {
                        "customer": pk,
                        "author": rng.choice(staff).pk,
                        "location": locations[pk % len(locations)].pk,  # the customer's home location
                        "text": rng.choice(NOTES).format(name=rng.choice(FIRST_NAMES)),
                        "is_sensitive": rng.random() < 0.05,
                        "created_at": at,
                        "updated_at": at,
                    }

        self.say(f"{self.insert(Note, rows()):,} notes")

    @transaction.atomic
    def seed_follow_ups(self, pks: range, staff: list[User], locations: list[Location], per_customer: float) -> None:
        rng, now = self.rng, timezone.now()
        today = timezone.localdate()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    dated = rng.random() < 0.5
                    due_date = today + datetime.timedelta(days=rng.randint(-5, 200)) if dated else None
                    status = "open" if rng.random() < 0.7 else rng.choice(["done", "dismissed"])
                    yield {
                        "customer": pk,
                        "prompt": "Ask how the new frames feel",
                        "due": "on_date" if dated else "next_visit",
                        "due_date": due_date,
                        "location": locations[pk % len(locations)].pk,
                        "status": status,
                        "created_by": staff[0].pk,
                        "created_at": now,
                        "next_reminder_on": due_date if status == "open" else None,
                        "reminders_sent": 0,
                    }

        self.say(f"{self.insert(FollowUp, rows()):,} follow-ups")

    @transaction.atomic
    def seed_interactions(self, pks: range, staff: list[User], locations: list[Location], per_customer: float) -> None:
        """Visits, purchases and contacts over the last two years, personas for a third of customers, rollups."""
        from journeys import rollups
        from journeys.models import CustomerPersona, Interaction, Persona, Touchpoint

        rng, now = self.rng, timezone.now()
        touchpoints = list(Touchpoint.objects.filter(is_active=True))
        in_store = next(t for t in touchpoints if t.slug == "in-store")
        others = [t for t in touchpoints if t.slug != "in-store"]

        def rows():
            for pk in pks:
                location = locations[pk % len(locations)].pk
                for _ in range(self._how_many(per_customer)):
                    at = now - datetime.timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
                    if rng.random() < 0.6:
                        touchpoint = in_store
                        kind = "purchase" if rng.random() < 0.5 else "visit"
                    else:
                        touchpoint, kind = rng.choice(others), "conversation"
                    yield {
                        "customer": pk,
                        "touchpoint": touchpoint.pk,
                        "location": location,
                        "kind": kind,
                        "stage": "during" if kind == "purchase" else touchpoint.stage,
                        "occurred_at": at,
                        "summary": "",
                        "sentiment": rng.choice([-1, 0, 0, 1, 1]),
                        "amount": Decimal(rng.randint(20, 400)) if kind == "purchase" else None,
                        "created_at": now,
                    }

        self.say(f"{self.insert(Interaction, rows()):,} interactions")
        personas = [Persona.objects.get_or_create(name=name)[0] for name in ("Style seeker", "Busy parent", "Sporty")]
        self.insert(
            CustomerPersona,
            ({"customer": pk, "persona": personas[pk % 3].pk, "assigned_at": now} for pk in pks if pk % 10 < 6),
        )
        rollups.rebuild()
        self.say("personas and journey rollups")

    def _how_many(self, mean: float) -> int:
        """A whole number of items averaging `mean` per customer."""
        whole = int(mean)
        return whole + (1 if self.rng.random() < mean - whole else 0)
