"""Demo customers for seed_demo: believable people with notes, people and pets, dates and follow-ups.

Dates are relative to today so the demo always has birthdays this week and
follow-ups due. Idempotent: customers are keyed on email and skipped when present.
"""

import datetime
import random

from django.utils import timezone

from crm.models import Location, User
from customers.models import Customer, FollowUp, ImportantDate, Person
from customers.services import (
    customer_save,
    follow_up_create,
    important_date_save,
    note_create,
    tag_save,
    tags_from_text,
)

# first, last, preferred, tags, people [(name, relation, species)], note, follow-up prompt (None = none)
CUSTOMERS = [
    (
        "Anna",
        "Kowalski",
        "",
        "regular, varifocals",
        [("Rex", "pet", "dog"), ("Piotr", "spouse", "")],
        "Her dog Rex is sick, vet on Tuesday",
        "Ask how Rex is feeling",
    ),
    (
        "Benjamin",
        "Carter",
        "Ben",
        "regular",
        [("Carla", "spouse", "")],
        "Just got engaged to Carla last spring, wedding in June",
        None,
    ),
    (
        "Chloé",
        "Dubois",
        "",
        "contact lenses, VIP",
        [],
        "Car was stolen this morning, came in by bus",
        "Ask if the car turned up",
    ),
    (
        "Daniel",
        "Mensah",
        "Danny",
        "sports glasses",
        [("Kofi", "child", "")],
        "Son Kofi starts football this season",
        None,
    ),
    ("Eleanor", "Whitfield", "Nell", "regular", [("Biscuit", "pet", "cat")], "Retired teacher, loves crosswords", None),
    ("Farid", "Haddad", "", "new", [], "Started a new job at the harbour office", "Ask how the new job is going"),
    ("Grace", "O'Neill", "", "VIP, designer frames", [("Liam", "partner", "")], "Prefers tortoiseshell frames", None),
    (
        "Hiroshi",
        "Tanaka",
        "",
        "regular",
        [],
        "Flying to Osaka next month to see family",
        "Ask how the trip to Osaka was",
    ),
    ("Isabel", "Romero", "Isa", "contact lenses", [("Luna", "pet", "dog")], "Adopted a puppy called Luna", None),
    ("Jamal", "Wright", "", "regular", [], "Runs the bakery on Fore Street", None),
    ("Katarina", "Novak", "Kat", "VIP", [("Ema", "child", "")], "Daughter Ema graduated from nursing school", None),
    ("Liam", "Byrne", "", "new", [], "Moving house next Friday", None),
    (
        "Maria",
        "Santos",
        "",
        "regular, varifocals",
        [("Tomas", "spouse", "")],
        "Her father passed away in October",
        None,
    ),
    (
        "Noah",
        "Fischer",
        "",
        "sports glasses",
        [],
        "Training for the Boston marathon",
        "Ask how marathon training is going",
    ),
    ("Olivia", "Brennan", "Liv", "contact lenses", [("Mochi", "pet", "cat")], "Bought two pairs of glasses", None),
    ("Pradeep", "Iyer", "", "regular", [("Asha", "spouse", "")], "Celebrating 25 years married this year", None),
    ("Quinn", "Murphy", "", "new", [], "Found us on Instagram", None),
    ("Rosa", "Lindqvist", "", "VIP, designer frames", [], "Favourite local craft beer bar: Monday Night", None),
    (
        "Samuel",
        "Okoye",
        "Sam",
        "regular",
        [("Zuri", "child", "")],
        "Had a baby girl, Zuri",
        "Congratulate on baby Zuri",
    ),
    ("Tessa", "Van Dijk", "", "contact lenses", [], "Allergic to nickel frames", None),
    ("Umar", "Siddiqui", "", "regular", [], "Prefers appointments in the morning", None),
    ("Valentina", "Greco", "Vale", "VIP", [("Bruno", "pet", "dog")], "Opening a restaurant in the spring", None),
    ("William", "Hughes", "Will", "regular", [], "Plays cello in the city orchestra", None),
    ("Xiu", "Chen", "", "new, contact lenses", [], "Student at USM, first glasses", None),
    (
        "Yasmin",
        "Farouk",
        "",
        "regular",
        [("Noor", "child", "")],
        "Was in a car accident, shaken but ok",
        "Ask how she is recovering",
    ),
    ("Zoe", "Archer", "", "designer frames", [], "Getting married on 12 September", None),
    ("Aaron", "Blake", "", "regular", [], "Has the flu this week", None),
    (
        "Beatriz",
        "Costa",
        "Bia",
        "VIP, varifocals",
        [("Pipoca", "pet", "dog")],
        "Walks Pipoca past the shop every morning",
        None,
    ),
    ("Connor", "Doyle", "", "sports glasses", [], "Cycling club captain", None),
    ("Dina", "Petrova", "", "regular", [], "Her mum is in hospital", "Ask how her mum is"),
    ("Ethan", "Moreau", "", "new", [], "Referred by Rosa", None),
    ("Fatima", "Zahra", "", "contact lenses", [], "Prefers text to calls", None),
]


def seed(locations: list[Location], staff: list[User]) -> list[Customer]:
    """Create the demo customers if missing; return all of them."""
    rng = random.Random(20261122)  # noqa: S311 - demo data, not security
    for name, days in (("regular", 45), ("vip", 21)):
        tag = tags_from_text(name)[0]
        if tag.keep_in_touch_days is None:
            tag.keep_in_touch_days = days
            tag_save(tag=tag)
    today = timezone.localdate()
    author = staff[0]
    customers = []
    for index, (first, last, preferred, tags, people, note, follow_up) in enumerate(CUSTOMERS):
        email = f"{first}.{last}".lower().replace(" ", "").replace("'", "").replace("é", "e") + "@example.com"
        existing = Customer.objects.filter(email=email).first()
        if existing:
            customers.append(existing)
            continue
        since = today - datetime.timedelta(days=rng.randint(30, 365 * 8))
        if index % 7 == 0:  # some become a whole number of years' customer this week
            since = since.replace(year=today.year - rng.choice([1, 2, 5]), month=today.month, day=min(today.day, 28))
        customer = customer_save(
            customer=Customer(
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                email=email,
                phone=f"+1207555{1000 + index:04d}",
                home_location=locations[index % len(locations)],
                customer_since=since,
                preferences="Favourite local craft beer bar: Monday Night" if first == "Rosa" else "",
                consent_email_at=since if index % 3 else None,
            ),
            tags=tags_from_text(tags),
        )
        for name, relation, species in people:
            Person.objects.create(customer=customer, name=name, relation=relation, species=species)
        birthday = today + datetime.timedelta(days=(index * 5) % 40)
        born = birthday.year - rng.randint(19, 75) if index % 2 == 0 else None
        if born and (birthday.month, birthday.day) == (2, 29):
            born -= born % 4  # someone born on 29 February was born in a leap year
        important_date_save(
            important_date=ImportantDate(
                customer=customer, kind=ImportantDate.Kind.BIRTHDAY, month=birthday.month, day=birthday.day, year=born
            )
        )
        if first in ("Pradeep", "Benjamin"):
            wedding = today + datetime.timedelta(days=2 if first == "Pradeep" else 20)
            important_date_save(
                important_date=ImportantDate(
                    customer=customer,
                    kind=ImportantDate.Kind.WEDDING,
                    month=wedding.month,
                    day=wedding.day,
                    year=wedding.year - (25 if first == "Pradeep" else 10),
                )
            )
        note_obj = note_create(customer=customer, author=staff[index % len(staff)], text=note)
        if follow_up:
            dated = index % 3 == 0
            follow_up_create(
                customer=customer,
                created_by=author,
                prompt=follow_up,
                due=FollowUp.Due.ON_DATE if dated else FollowUp.Due.NEXT_VISIT,
                due_date=today if dated else None,
                note=note_obj,
            )
        customers.append(customer)
    rosa = next(c for c in customers if c.first_name == "Rosa")
    Customer.objects.filter(first_name__in=["Ethan"], referred_by__isnull=True).update(referred_by=rosa)
    return customers
