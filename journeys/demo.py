"""Demo visits and conversations for seed_demo: a year of history for the demo customers."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from crm.models import Location, User
from customers.models import Customer
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record


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
