"""Keep gestures genuine: notice when one is being repeated mechanically.

These checks never block a gesture; they ask the proposer "is this genuine
for this customer?" and show the manager what was noticed.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django.utils import timezone

from crm.kernel.models import User
from crm.kernel.templatetags.crm_tags import money
from customers.models import Customer

SAME_GIFT_DAYS, SAME_GIFT_CUSTOMERS = 30, 3
SAME_WORDS_DAYS = 90
SAME_CUSTOMER_DAYS, SAME_CUSTOMER_GESTURES = 60, 2


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def mechanical_flags(
    *, proposer: User, customer: Customer, category: str, amount: Decimal, description: str
) -> list[str]:
    """Return what looks mechanical about this proposal (empty when it looks personal)."""
    from microcx.models import Gesture

    now = timezone.now()
    live = Gesture.objects.exclude(status__in=[Gesture.Status.REJECTED, Gesture.Status.CANCELLED])
    flags = []
    same_gift = (
        live.filter(
            proposed_by=proposer,
            category=category,
            amount=amount,
            created_at__gte=now - datetime.timedelta(days=SAME_GIFT_DAYS),
        )
        .exclude(customer=customer)
        .values("customer")
        .distinct()
        .count()
    )
    if same_gift >= SAME_GIFT_CUSTOMERS:
        label = dict(Gesture.Category.choices).get(category, category).lower()
        flags.append(f"You gave the same {label} of {money(amount)} to {same_gift} other customers in the last month.")
    words = _words(description)
    if words:
        recent = live.filter(created_at__gte=now - datetime.timedelta(days=SAME_WORDS_DAYS)).exclude(customer=customer)
        reused = sum(1 for text in recent.values_list("description", flat=True)[:500] if _words(text) == words)
        if reused:
            flags.append(f"The same words were used for {reused} other gesture{'s' if reused > 1 else ''} recently.")
    often = live.filter(customer=customer, created_at__gte=now - datetime.timedelta(days=SAME_CUSTOMER_DAYS)).count()
    if often >= SAME_CUSTOMER_GESTURES:
        flags.append(f"{customer.greeting_name} already had {often} gestures in the last {SAME_CUSTOMER_DAYS} days.")
    return flags
