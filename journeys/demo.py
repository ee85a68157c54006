"""Demo visits and conversations for seed_demo: each demo customer's history, as their story says."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from crm.kernel.models import Location, User
from customers import demo as customers_demo
from customers.models import Customer
from journeys import importer
from journeys.models import CustomerPersona, Interaction, JourneyStep, Persona, Touchpoint, TouchpointMetric
from journeys.services import interaction_record

PERSONAS = [
    (
        "Style seeker",
        "Treats glasses as fashion; follows us on Instagram",
        "Frames that say something about them",
        "Honest advice, new collections first",
        "Pushy sales, waiting weeks for an order",
        ["social-media", "in-store", "email"],
        [
            (
                "before",
                "social-media",
                "See the new collection",
                "A post that feels personal",
                "Hard to book from a post",
                "Link posts to online booking",
            ),
            (
                "during",
                "in-store",
                "Try on without pressure",
                "The stylist remembers their taste",
                "Busy Saturdays",
                "Offer a quiet-hours styling slot",
            ),
            (
                "after",
                "email",
                "Hear when frames are ready",
                "A photo of them wearing the frames",
                "Generic emails",
                "Send a personal note from the stylist",
            ),
        ],
    ),
    (
        "Busy parent",
        "Two kids, one eye test a year for everyone",
        "Get the whole family seen in one visit",
        "Fast appointments, kid-proof frames",
        "Waiting rooms with bored children",
        ["phone", "in-store", "word-of-mouth"],
        [
            ("before", "word-of-mouth", "Hear about us from other parents", "A friend's recommendation", "", ""),
            (
                "during",
                "in-store",
                "Everyone seen within an hour",
                "The kids leave happy",
                "Waiting with kids",
                "A toy corner and back-to-back slots",
            ),
        ],
    ),
]


SUMMARIES = ["Eye test", "Picked up new frames", "Adjusted frames", "Bought lens cleaner", "Contact lens check", ""]


def seed(customers: list[Customer], locations: list[Location], staff: list[User]) -> int:
    """Give each demo customer without interactions the visits of their story; return how many were added.

    The visits come in through the interaction import (one statement per table, not ten per visit), as
    a shop's till history would: local times at the location, a reference per visit, so a second run
    adds nothing.
    """
    touchpoints = {t.slug: t for t in Touchpoint.objects.all()}
    records = []
    conversations = []
    for index, customer in enumerate(customers):
        if customer.interactions.exists():
            continue
        home = customer.home_location
        today = home.local_today()
        _since, days = customers_demo.story(customer.first_name, today)
        rng = random.Random(f"visits|{customer.email}|{today.isoformat()}")  # noqa: S311 - demo data
        profile = customers_demo.STORY[customer.first_name][0]
        for number, day in enumerate(days):
            # A yearly customer comes for the eye test and buys; others buy about half the time.
            purchase = profile == "yearly" or number == 0 or rng.random() < 0.5
            location = home if rng.random() < 0.85 else rng.choice(locations)
            records.append(
                {
                    "email": customer.email,
                    "occurred_at": f"{day.isoformat()} {rng.randint(9, 17):02d}:{rng.choice([0, 15, 30, 45]):02d}",
                    "touchpoint": "in-store",
                    "kind": Interaction.Kind.PURCHASE if purchase else Interaction.Kind.VISIT,
                    "amount": str(rng.randint(20, 400)) if purchase else "",
                    "location": location.name,
                    "summary": "Eye test" if profile == "yearly" else rng.choice(SUMMARIES),
                    "sentiment": rng.choice(["neutral", "positive", "positive"]),
                    "external_ref": f"demo:{customer.email}:{number + 1}",
                }
            )
        if index % 4 == 0 and days:
            # A message in the last month, never before the customer's first visit.
            ago = rng.randint(1, max(1, min(30, (today - days[0]).days)))
            conversations.append((customer, rng.choice(["phone", "email", "social-media"]), ago, rng.choice(staff)))
    added = 0
    if records:
        plan = importer.check_records(records)
        if not plan.is_valid:  # the demo's own data: a bad row is a bug here, not the user's mistake
            raise ValueError("; ".join(message for row in plan.bad_rows for message in row.messages))
        added = importer.commit(plan, user=None)["imported"]
    now = timezone.now()
    for customer, slug, ago, by in conversations:
        interaction_record(
            customer=customer,
            touchpoint=touchpoints[slug],
            location=customer.home_location,
            staff=by,
            kind=Interaction.Kind.CONVERSATION,
            occurred_at=now - datetime.timedelta(days=ago),
            summary="Asked whether the order had arrived",
        )
        added += 1
    _personas(customers, touchpoints, random.Random(7))  # noqa: S311 - demo data, not security
    # On the first run a few regulars came in today, so the home page shows who to ask about what.
    for customer in customers[:3] if added else []:
        interaction_record(
            customer=customer,
            touchpoint=touchpoints["in-store"],
            location=customer.home_location,
            staff=staff[0],
            kind=Interaction.Kind.VISIT,
            occurred_at=now - datetime.timedelta(minutes=30),
            summary="Popped in",
        )
    return added


def _personas(customers, touchpoints, rng) -> None:
    """Two personas with designed journeys; demo customers are split between them; a few monthly figures."""
    personas = []
    for name, summary, goals, needs, frustrations, preferred, steps in PERSONAS:
        persona, created = Persona.objects.get_or_create(
            name=name, defaults={"summary": summary, "goals": goals, "needs": needs, "frustrations": frustrations}
        )
        if created:
            persona.preferred_touchpoints.set([touchpoints[slug] for slug in preferred])
            for position, (stage, slug, goal, moment, pain, idea) in enumerate(steps):
                JourneyStep.objects.create(
                    persona=persona,
                    stage=stage,
                    touchpoint=touchpoints[slug],
                    position=position,
                    customer_goal=goal,
                    moment_that_matters=moment,
                    pain_points=pain,
                    improvement_idea=idea,
                )
        personas.append(persona)
    for index, customer in enumerate(customers):
        if index % 3 != 2:
            CustomerPersona.objects.get_or_create(customer=customer, defaults={"persona": personas[index % 2]})
    today = timezone.localdate().replace(day=1)
    for months_ago in range(6):
        month = (today - datetime.timedelta(days=31 * months_ago)).replace(day=1)
        for slug, name, base in (
            ("email", "email_open_rate", 38),
            ("website", "bounce_rate", 55),
            ("phone", "call_waiting", 90),
        ):
            TouchpointMetric.objects.get_or_create(
                touchpoint=touchpoints[slug],
                month=month,
                name=name,
                defaults={"value": Decimal(base + rng.randint(-6, 6))},
            )
