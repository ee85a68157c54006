"""Demo customers for seed_demo: believable people with notes, people and pets, dates and follow-ups.

Every customer has a story (STORY): a regular who comes in every month or two since they became a
customer, a once-a-year eye test, a regular who has drifted away in the last few weeks, a new
customer of one of the last few months, or an old customer who stopped coming long ago. `story`
turns it into the day they became a customer and the local days they came in, so the customer-since
date, the first visit and the loyalty figures tell one consistent tale. Ages fit the notes (a
retired teacher is in her sixties, a student about twenty).

Dates are relative to today in the customer's home location's time zone, so the demo always has
birthdays this week and follow-ups due; random choices are seeded, so a given day gives the same
demo. Idempotent: customers are keyed on email and skipped when present.
"""

import datetime
import random

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from crm.kernel.models import Location, User
from customers.models import Customer, FollowUp, ImportantDate, Person
from customers.services import (
    customer_save,
    follow_up_complete,
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


# first name: (profile, years a customer or months ago first seen for new ones, age at the coming birthday
# or None when the year is not known). Profiles: regular (every 5 to 10 weeks), anniversary (a regular who
# became a customer this week some years ago), yearly (one eye test a year), drifting (came every three or
# four weeks, stopped 9 to 13 weeks ago), new_back / new_once (first seen that many months ago, came back
# or not), lapsed (came twice, years ago, and not since).
STORY = {
    "Anna": ("anniversary", 6, 52),
    "Benjamin": ("regular", 3, 31),
    "Chloé": ("regular", 4, 38),
    "Daniel": ("new_once", 9, 44),
    "Eleanor": ("regular", 7, 68),
    "Farid": ("new_back", 2, 29),
    "Grace": ("yearly", 7, None),
    "Hiroshi": ("yearly", 2, 57),
    "Isabel": ("new_once", 10, 27),
    "Jamal": ("drifting", 5, 46),
    "Katarina": ("regular", 8, 53),
    "Liam": ("new_once", 3, 34),
    "Maria": ("regular", 6, 58),
    "Noah": ("new_once", 7, 35),
    "Olivia": ("new_back", 11, None),
    "Pradeep": ("anniversary", 5, 51),
    "Quinn": ("new_once", 1, 23),
    "Rosa": ("regular", 4, 39),
    "Samuel": ("yearly", 3, 33),
    "Tessa": ("lapsed", 6, None),
    "Umar": ("yearly", 4, 62),
    "Valentina": ("anniversary", 2, 36),
    "William": ("lapsed", 5, 45),
    "Xiu": ("new_back", 1, 20),
    "Yasmin": ("yearly", 3, 40),
    "Zoe": ("new_once", 6, 30),
    "Aaron": ("new_once", 8, None),
    "Beatriz": ("regular", 6, 64),
    "Connor": ("lapsed", 3, 37),
    "Dina": ("drifting", 4, 49),
    "Ethan": ("new_once", 4, 38),
    "Fatima": ("new_back", 5, 26),
}
DAY = datetime.timedelta(days=1)
# Umar's thank-you card (microcx.demo) follows his last eye test: long enough ago that it shows as a
# gesture that did not bring him back within 90 days, recent enough to be in the last 12 months' figures.
LAST_EYE_TEST_DAYS_AGO = {"Umar": (120, 240)}


def story(first_name: str, today: datetime.date) -> tuple[datetime.date, list[datetime.date]]:
    """Return the day this demo customer became one and the local days they came in (all before today).

    The first visit day is the customer-since day or a day or two after it.
    """
    profile, years, _age = STORY[first_name]
    rng = random.Random(f"{first_name}|{today.isoformat()}")  # noqa: S311 - demo data, not security
    if profile in ("new_back", "new_once"):
        # Day 4 to 20 of a month before this one, so always before today, even on the 1st.
        first = today.replace(day=1) - relativedelta(months=years) + datetime.timedelta(days=rng.randint(3, 19))
        days = [first]
        if profile == "new_back":
            days.append(min(first + datetime.timedelta(days=rng.randint(9, 30)), today - DAY))
        return first, days
    if profile == "yearly":
        # Backwards from the last eye test, which is always in the last ten months.
        days = [today - datetime.timedelta(days=rng.randint(*LAST_EYE_TEST_DAYS_AGO.get(first_name, (20, 300))))]
        while len(days) < years:
            days.insert(0, days[0] - datetime.timedelta(days=365 + rng.randint(-12, 12)))
        return days[0] - datetime.timedelta(days=rng.randint(0, 2)), days
    if profile == "lapsed":  # came in twice, some years ago, and not since
        since = today - relativedelta(years=years) - datetime.timedelta(days=rng.randint(0, 100))
        first = since + datetime.timedelta(days=rng.randint(0, 2))
        return since, [first, first + datetime.timedelta(days=rng.randint(150, 300))]
    if profile == "anniversary":  # a whole number of years a customer in the coming days
        since = today + datetime.timedelta(days=rng.randint(1, 5)) - relativedelta(years=years)
    else:
        since = today - relativedelta(years=years) - datetime.timedelta(days=rng.randint(0, 200))
    if profile == "drifting":
        gap, stop = rng.randint(21, 28), today - datetime.timedelta(weeks=rng.randint(9, 13))
    else:
        gap, stop = rng.randint(35, 70), today - DAY
    days, day = [], since + datetime.timedelta(days=rng.randint(0, 2))
    while day <= stop:
        days.append(day)
        day += datetime.timedelta(days=gap + rng.randint(-5, 5))
    return since, days


def seed(locations: list[Location], staff: list[User]) -> list[Customer]:
    """Create the demo customers if missing; return all of them."""
    for name, days in (("regular", 45), ("vip", 21)):
        tag = tags_from_text(name)[0]
        if tag.keep_in_touch_days is None:
            tag.keep_in_touch_days = days
            tag_save(tag=tag)
    author = staff[0]
    customers = []
    for index, (first, last, preferred, tags, people, note, follow_up) in enumerate(CUSTOMERS):
        email = f"{first}.{last}".lower().replace(" ", "").replace("'", "").replace("é", "e") + "@example.com"
        existing = Customer.objects.filter(email=email).first()
        if existing:
            customers.append(existing)
            continue
        home = locations[index % len(locations)]
        today = home.local_today()
        since, _days = story(first, today)
        customer = customer_save(
            customer=Customer(
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                email=email,
                phone=f"+1207555{1000 + index:04d}",
                home_location=home,
                customer_since=since,
                preferences="Favourite local craft beer bar: Monday Night" if first == "Rosa" else "",
                consent_email_at=timezone.make_aware(datetime.datetime.combine(since, datetime.time(12)), home.tzinfo)
                if index % 3
                else None,
            ),
            tags=tags_from_text(tags),
        )
        for name, relation, species in people:
            Person.objects.create(customer=customer, name=name, relation=relation, species=species)
        birthday = today + datetime.timedelta(days=(index * 5) % 40)
        age = STORY[first][2]
        born = birthday.year - age if age is not None else None
        if born and (birthday.month, birthday.day) == (2, 29):
            born -= born % 4  # someone born on 29 February was born in a leap year
        important_date_save(
            important_date=ImportantDate(
                customer=customer, kind=ImportantDate.Kind.BIRTHDAY, month=birthday.month, day=birthday.day, year=born
            )
        )
        if first == "Pradeep":  # 25 years married the day after tomorrow
            wedding = today + datetime.timedelta(days=2)
            important_date_save(
                important_date=ImportantDate(
                    customer=customer,
                    kind=ImportantDate.Kind.WEDDING,
                    month=wedding.month,
                    day=wedding.day,
                    year=wedding.year - 25,
                )
            )
        note_obj = note_create(customer=customer, author=staff[index % len(staff)], text=note)
        if follow_up:
            _follow_up(customer, author, follow_up, index, note_obj, today)
        customers.append(customer)
    rosa = next(c for c in customers if c.first_name == "Rosa")
    Customer.objects.filter(first_name__in=["Ethan"], referred_by__isnull=True).update(referred_by=rosa)
    return customers


# Follow-ups already kept, with what the customer said.
KEPT = {
    "Hiroshi": "Osaka was wonderful; he brought the team green-tea sweets",
    "Noah": "Finished the marathon in 3:41 and wants new sports glasses",
}
OVERDUE_DAYS = {"Yasmin": 6, "Dina": 10}  # dated follow-ups nobody got to yet


def _follow_up(customer, author, prompt, index, note, today) -> None:
    """One follow-up: due today or at the next visit, a few days overdue, or already done."""
    first = customer.first_name
    dated = index % 3 == 0 or first in OVERDUE_DAYS
    follow_up = follow_up_create(
        customer=customer,
        created_by=author,
        prompt=prompt,
        due=FollowUp.Due.ON_DATE if dated else FollowUp.Due.NEXT_VISIT,
        due_date=today - datetime.timedelta(days=OVERDUE_DAYS.get(first, 0)) if dated else None,
        note=note,
    )
    if first in KEPT:
        follow_up_complete(follow_up=follow_up, user=author, outcome=KEPT[first])
