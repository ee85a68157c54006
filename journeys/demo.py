"""Demo visits and conversations for seed_demo: a year of history for the demo customers."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from crm.models import Location, User
from customers.models import Customer
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


def seed(customers: list[Customer], locations: list[Location], staff: list[User]) -> int:
    """Give each demo customer without interactions a believable history; return how many were added."""
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    touchpoints = {t.slug: t for t in Touchpoint.objects.all()}
    now = timezone.now()
    added = 0
    for index, customer in enumerate(customers):
        if customer.interactions.exists():
            continue
        visits = rng.randint(1, 9)
        gap = rng.randint(14, 60)
        start = now - datetime.timedelta(days=gap * visits + rng.randint(0, 40))
        for visit in range(visits):
            at = start + datetime.timedelta(days=gap * visit, hours=rng.randint(0, 8))
            purchase = rng.random() < 0.5
            interaction_record(
                customer=customer,
                touchpoint=touchpoints["in-store"],
                location=customer.home_location if rng.random() < 0.85 else rng.choice(locations),
                staff=rng.choice(staff),
                kind=Interaction.Kind.PURCHASE if purchase else Interaction.Kind.VISIT,
                occurred_at=at,
                summary=rng.choice(["Eye test", "Picked up new frames", "Adjusted frames", "Bought lens cleaner", ""]),
                sentiment=rng.choice([0, 1, 1]),
                amount=Decimal(rng.randint(20, 400)) if purchase else None,
            )
            added += 1
        if index % 4 == 0:
            interaction_record(
                customer=customer,
                touchpoint=touchpoints[rng.choice(["phone", "email", "social-media"])],
                location=customer.home_location,
                staff=rng.choice(staff),
                kind=Interaction.Kind.CONVERSATION,
                occurred_at=now - datetime.timedelta(days=rng.randint(1, 30)),
                summary="Asked whether her order had arrived",
            )
            added += 1
    _personas(customers, touchpoints, rng)
    # On the first run a few customers came in today, so the home page shows who to ask about what.
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
