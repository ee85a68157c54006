"""Demo budgets and gestures for seed_demo (idempotent).

This month's budgets have some spend and a gesture waiting; a few gestures of earlier months tell
what worked: a regular who came back within 90 days of a small gift, and a once-a-year customer
whose thank-you card did not bring him back sooner.
"""

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from crm.kernel.models import Location, User
from customers import demo as customers_demo
from customers.models import Customer
from microcx import services
from microcx.models import Gesture, LedgerEntry

# (customer, proposer, category, description, amount, then): this month's gestures, through the services
PLAN = [
    ("Chloé", "frontline", "gift_card", "$20 gift card for Monday Night after her car was stolen", "20", "deliver"),
    ("Benjamin", "frontline", "card", "Handwritten engagement card from the whole team", "0", "deliver"),
    ("Katarina", "manager", "flowers", "Flowers for Ema's graduation", "45", "approve"),
    ("Maria", "frontline", "small_gift", "A framed photo of her and her father from our opening day", "60", None),
]
# (customer, category, description, amount, reaction, days before today it was delivered): earlier gestures
EARLIER = [
    (
        "Eleanor",
        "small_gift",
        "A book of cryptic crosswords for her birthday",
        "15",
        "Laughed and said it's too easy",
        130,
    ),
    ("Beatriz", "small_gift", "A bag of treats for Pipoca", "8", "Pipoca now pulls her into the shop", 105),
]


def seed(locations: list[Location], staff: list[User], customers: list[Customer]) -> None:
    services.ensure_default_rules()
    frontline, manager, _owner = staff
    by_role = {"frontline": frontline, "manager": manager}
    for location, amount in zip(locations, (Decimal("300"), Decimal("200")), strict=False):
        if services.budget_for(location) is None:
            services.budget_create(
                location=location, period="month", day=location.local_today(), amount=amount, by=manager, renews=True
            )
    if Gesture.objects.exists():
        return
    by_name = {c.first_name: c for c in customers}
    for first, proposer, category, description, amount, then in PLAN:
        customer = by_name.get(first)
        if customer is None:
            continue
        location = customer.home_location
        gesture, _ = services.gesture_propose(
            customer=customer,
            proposer=by_role[proposer],
            location=location,
            category=category,
            description=description,
            amount=Decimal(amount),
            idempotency_key=uuid.uuid4(),
            confirmed_genuine=True,
        )
        if then == "deliver" and gesture.status == Gesture.Status.APPROVED:
            today = location.local_today()
            services.gesture_deliver(
                gesture=gesture,
                by=by_role[proposer],
                # two days ago, but in this month's budget period
                delivered_on=max(today - datetime.timedelta(days=2), today.replace(day=1)),
                reaction="She was touched" if first == "Chloé" else "He pinned it up at work",
            )
    for first, category, description, amount, reaction, ago in EARLIER:
        customer = by_name.get(first)
        if customer is not None:
            _earlier_gesture(customer, frontline, manager, category, description, Decimal(amount), reaction, ago)
    umar = by_name.get("Umar")
    if umar is not None:
        # The day after his last yearly eye test, months ago: the card did not bring him back any sooner.
        today = umar.home_location.local_today()
        last_test = customers_demo.story("Umar", today)[1][-1]
        _earlier_gesture(
            umar,
            frontline,
            manager,
            "card",
            "Thank-you card after his eye test",
            Decimal("3"),
            "",
            (today - last_test).days - 1,
        )


def _earlier_gesture(customer, proposer, manager, category, description, amount, reaction, ago) -> None:
    """A gesture proposed, approved and delivered in an earlier month, with that month's budget and ledger.

    The history a shop would have had: the budget of that month (no renewal), the money held when the
    gesture was approved and spent when it was delivered.
    """
    location = customer.home_location
    delivered_on = location.local_today() - datetime.timedelta(days=ago)
    proposed_on = max(delivered_on - datetime.timedelta(days=3), delivered_on.replace(day=1))
    budget = services.budget_for(location, delivered_on) or services.budget_create(
        location=location, period="month", day=delivered_on, amount=Decimal("250"), by=manager
    )
    proposed_at = timezone.make_aware(datetime.datetime.combine(proposed_on, datetime.time(11)), location.tzinfo)
    gesture = Gesture(
        customer=customer,
        location=location,
        budget=budget,
        proposed_by=proposer,
        category=category,
        description=description,
        amount=amount,
        status=Gesture.Status.DELIVERED,
        month=delivered_on.replace(day=1),
        decided_by=manager,
        decided_at=proposed_at + datetime.timedelta(hours=2),
        delivered_on=delivered_on,
        customer_reaction=reaction,
    )
    gesture.full_clean()
    gesture.save()
    Gesture.objects.filter(pk=gesture.pk).update(created_at=proposed_at)
    for kind in (LedgerEntry.Kind.HOLD, LedgerEntry.Kind.SPEND):
        LedgerEntry.objects.create(budget=budget, kind=kind, amount=amount, gesture=gesture, created_by=manager)
