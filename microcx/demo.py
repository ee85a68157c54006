"""Demo budgets and gestures for seed_demo (idempotent)."""

import datetime
import uuid
from decimal import Decimal

from crm.models import Location, User
from customers.models import Customer
from microcx import services
from microcx.models import Gesture


def seed(locations: list[Location], staff: list[User], customers: list[Customer]) -> None:
    services.ensure_default_rules()
    frontline, manager, _owner = staff
    for location, amount in zip(locations, (Decimal("300"), Decimal("200")), strict=False):
        if services.budget_for(location) is None:
            services.budget_create(
                location=location, period="month", day=location.local_today(), amount=amount, by=manager, renews=True
            )
    if Gesture.objects.exists():
        return
    by_name = {c.first_name: c for c in customers}
    # (customer, proposer, category, description, amount, then)
    plan = [
        ("Chloé", frontline, "gift_card", "$20 gift card for Monday Night after her car was stolen", "20", "deliver"),
        ("Benjamin", frontline, "card", "Handwritten engagement card from the whole team", "0", "deliver"),
        ("Katarina", manager, "flowers", "Flowers for Ema's graduation", "45", "approve"),
        ("Maria", frontline, "small_gift", "A framed photo of her and her father from our opening day", "60", None),
    ]
    for first, proposer, category, description, amount, then in plan:
        customer = by_name.get(first)
        if customer is None:
            continue
        location = customer.home_location
        gesture, _ = services.gesture_propose(
            customer=customer,
            proposer=proposer,
            location=location,
            category=category,
            description=description,
            amount=Decimal(amount),
            idempotency_key=uuid.uuid4(),
            confirmed_genuine=True,
        )
        if then == "deliver" and gesture.status == Gesture.Status.APPROVED:
            services.gesture_deliver(
                gesture=gesture,
                by=proposer,
                delivered_on=location.local_today() - datetime.timedelta(days=2),
                reaction="She was touched",
            )
