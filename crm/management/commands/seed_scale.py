"""Make large synthetic data with bulk inserts, for benchmarks.

    python manage.py seed_scale --customers 100000 --notes-per-customer 10

Adds to what is there (run it on an empty benchmark database). On PostgreSQL
the large tables are filled with COPY; elsewhere with bulk_create.
"""

import datetime
import random
import time

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.en_US import Provider as Names

from crm import roles
from crm.models import Location, User
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
BATCH = 10_000


class Command(BaseCommand):
    help = "Bulk-insert synthetic customers, people, dates, notes and follow-ups for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--locations", type=int, default=5)
        parser.add_argument("--notes-per-customer", type=float, default=2.0)
        parser.add_argument("--dates-per-customer", type=float, default=2.0)
        parser.add_argument("--people-per-customer", type=float, default=1.0)
        parser.add_argument("--follow-ups-per-customer", type=float, default=0.5)
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
        self.seed_notes(pks, staff, options["notes_per_customer"])
        self.seed_follow_ups(pks, staff, locations, options["follow_ups_per_customer"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
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

    def insert(self, model, fields: list[str], rows) -> int:
        """Insert rows (tuples in `fields` order): COPY on PostgreSQL, bulk_create elsewhere."""
        total = 0
        if connection.vendor == "postgresql":
            columns = ", ".join(model._meta.get_field(f).column for f in fields)
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    total += 1
            return total
        attnames = [model._meta.get_field(f).attname for f in fields]
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(attnames, row, strict=True))))
            if len(batch) == BATCH:
                model.objects.bulk_create(batch)
                total += len(batch)
                batch = []
        model.objects.bulk_create(batch)
        return total + len(batch)

    @transaction.atomic
    def seed_customers(self, count: int, locations: list[Location], first_pk: int) -> None:
        rng, now = self.rng, timezone.now()
        today = timezone.localdate()
        tag_pks = {name: Tag.objects.get_or_create(name=name)[0].pk for name in TAGS}
        customer_tags: list[tuple[int, int]] = []

        def rows():
            for pk in range(first_pk, first_pk + count):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}.{pk}@example.com".lower()
                phone = f"+1{rng.randint(201, 989)}555{pk % 10_000:04d}"
                tags = rng.sample(TAGS, rng.randint(0, 2))
                customer_tags.extend((pk, tag_pks[name]) for name in tags)
                customer = Customer(first_name=first, last_name=last, email=email, phone=phone)
                visits = rng.randint(0, 30)
                first_visit = now - datetime.timedelta(days=rng.randint(30, 2000)) if visits else None
                last_visit = now - datetime.timedelta(days=rng.randint(0, 29)) if visits else None
                location = locations[pk % len(locations)]
                since = today - datetime.timedelta(days=rng.randint(0, 3650))
                yield (
                    pk,
                    first,
                    last,
                    "",
                    email,
                    phone,
                    "",
                    location.pk,
                    since,
                    "",
                    None,
                    None,
                    None,
                    first_visit,
                    last_visit,
                    location.pk if visits else None,
                    visits,
                    customer.build_search_document(tags),
                    now,
                    now,
                    None,
                    None,
                    None,
                    None,
                )

        fields = [
            "id",
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "phone",
            "external_id",
            "home_location",
            "customer_since",
            "preferences",
            "consent_email_at",
            "consent_mail_at",
            "consent_phone_at",
            "first_visit_at",
            "last_visit_at",
            "last_visit_location",
            "visit_count",
            "search_document",
            "created_at",
            "updated_at",
            "archived_at",
            "erased_at",
            "heard_via",
            "referred_by",
        ]
        self.insert(Customer, fields, rows())
        self.say(f"{count:,} customers")
        self.insert(Customer.tags.through, ["customer", "tag"], customer_tags)
        Through = Customer.locations.through
        self.insert(
            Through,
            ["customer", "location"],
            ((pk, locations[pk % len(locations)].pk) for pk in range(first_pk, first_pk + count)),
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                    "(SELECT MAX(id) FROM customers_customer))"
                )
        self.say("customer locations")

    @transaction.atomic
    def seed_people(self, pks: range, per_customer: float) -> None:
        rng, now = self.rng, timezone.now()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    relation = rng.choice(["partner", "child", "pet", "pet", "parent"])
                    species = rng.choice(["dog", "cat"]) if relation == "pet" else ""
                    yield (pk, rng.choice(FIRST_NAMES), relation, species, None, "", now)

        n = self.insert(Person, ["customer", "name", "relation", "species", "birthday", "notes", "created_at"], rows())
        self.say(f"{n:,} people and pets")

    @transaction.atomic
    def seed_dates(self, pks: range, per_customer: float) -> None:
        rng, now = self.rng, timezone.now()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    kind = rng.choice(["birthday", "birthday", "wedding", "custom"])
                    month = rng.randint(1, 12)
                    day = rng.randint(1, 29 if month == 2 else 30)
                    year = rng.randint(1950, 2020) if rng.random() < 0.6 else None
                    label = "Shop anniversary" if kind == "custom" else ""
                    yield (pk, kind, label, month, day, year, None, 3, now)

        fields = ["customer", "kind", "label", "month", "day", "year", "person", "lead_days", "created_at"]
        n = self.insert(ImportantDate, fields, rows())
        self.say(f"{n:,} important dates")

    @transaction.atomic
    def seed_notes(self, pks: range, staff: list[User], per_customer: float) -> None:
        rng, now = self.rng, timezone.now()

        def rows():
            for pk in pks:
                for _ in range(self._how_many(per_customer)):
                    at = now - datetime.timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
                    text = rng.choice(NOTES).format(name=rng.choice(FIRST_NAMES))
                    yield (pk, rng.choice(staff).pk, text, rng.random() < 0.05, None, at, at)

        fields = ["customer", "author", "text", "is_sensitive", "relevant_until", "created_at", "updated_at"]
        n = self.insert(Note, fields, rows())
        self.say(f"{n:,} notes")

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
                    yield (
                        pk,
                        "Ask how the new frames feel",
                        "on_date" if dated else "next_visit",
                        due_date,
                        None,
                        locations[pk % len(locations)].pk,
                        None,
                        status,
                        None,
                        staff[0].pk,
                        now,
                        None,
                        None,
                    )

        fields = [
            "customer",
            "prompt",
            "due",
            "due_date",
            "assignee",
            "location",
            "note",
            "status",
            "outcome_note",
            "created_by",
            "created_at",
            "closed_at",
            "closed_by",
        ]
        n = self.insert(FollowUp, fields, rows())
        self.say(f"{n:,} follow-ups")

    def _how_many(self, mean: float) -> int:
        """A whole number of items averaging `mean` per customer."""
        whole = int(mean)
        return whole + (1 if self.rng.random() < mean - whole else 0)
