"""Reads for the micro-CX pages: what is left to spend, the queue, the spend report, the monthly review."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from crm.kernel.models import Location
from crm.kernel.templatetags.crm_tags import money
from microcx.models import Budget, Gesture
from microcx.services import Balance, balances, budget_for

RETURN_WINDOW_DAYS = 90
GROUPS = {
    "location": ("location__name", "Location"),
    "staff": ("proposed_by__username", "Staff member"),
    "category": ("category", "Category"),
    "month": ("month", "Month"),
}


@dataclass
class BudgetView:
    budget: Budget
    balance: Balance

    @property
    def used_percent(self) -> int:
        if self.balance.allocated <= 0:
            return 0
        return int((self.balance.allocated - self.balance.available) * 100 / self.balance.allocated)


def current_budgets(locations: list[Location]) -> list[BudgetView]:
    budgets = [b for b in (budget_for(location) for location in locations) if b is not None]
    sums = balances([b.pk for b in budgets])
    return [BudgetView(b, sums[b.pk]) for b in budgets]


def budget_views(budgets: list[Budget]) -> list[BudgetView]:
    sums = balances([b.pk for b in budgets])
    return [BudgetView(b, sums[b.pk]) for b in budgets]


def approval_queue() -> QuerySet[Gesture]:
    """Pending gestures, oldest first, with what the page shows beside each."""
    return (
        Gesture.objects.filter(status=Gesture.Status.PENDING)
        .select_related("customer", "proposed_by", "location", "budget", "note", "follow_up")
        .order_by("created_at", "pk")
    )


def awaiting_approval(user) -> QuerySet[Gesture]:
    """Return the gestures waiting for this user's decision (none for staff who do not approve), oldest first."""
    if not user.has_perm("microcx.approve_gesture"):
        return Gesture.objects.none()
    return approval_queue()


ODD_AMOUNT_FACTOR = 2
ODD_AMOUNT_HISTORY = 3  # approved gestures of a kind at a location before any amount looks odd


def odd_amounts(gestures: list[Gesture]) -> dict[int, str]:
    """Say which gestures cost an unusual amount: more than twice the average of the same kind of gesture
    at the same location in the last 90 days (with at least three of them), in one query."""
    if not gestures:
        return {}
    since = timezone.now() - datetime.timedelta(days=RETURN_WINDOW_DAYS)
    typical = {
        (row["location_id"], row["category"]): row
        for row in Gesture.objects.filter(
            location_id__in={g.location_id for g in gestures},
            category__in={g.category for g in gestures},
            status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED],
            created_at__gte=since,
        )
        .values("location_id", "category")
        .annotate(average=Avg("amount"), count=Count("pk"))
    }
    odd = {}
    for gesture in gestures:
        row = typical.get((gesture.location_id, gesture.category))
        if row and row["count"] >= ODD_AMOUNT_HISTORY and gesture.amount > ODD_AMOUNT_FACTOR * row["average"]:
            odd[gesture.pk] = (
                f"Unusual amount: {money(gesture.amount)}, where a {gesture.get_category_display().lower()} here "
                f"has cost {money(row['average'])} on average over the last {RETURN_WINDOW_DAYS} days."
            )
    return odd


def spend_report(group: str, start: datetime.date, end: datetime.date, locations: list[Location]) -> list[dict]:
    """Approved and delivered gestures grouped by location, staff member, category or month."""
    field, _label = GROUPS[group]
    gestures = Gesture.objects.filter(
        status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED],
        created_at__date__gte=start,
        created_at__date__lte=end,
        location__in=locations,
    )  # "month" groups by Gesture.month: the month in the proposing location's own time zone
    rows = (
        gestures.values(field)
        .annotate(
            gestures=Count("pk"),
            committed=Sum("amount"),
            delivered=Count("pk", filter=Q(status=Gesture.Status.DELIVERED)),
            spent=Sum("amount", filter=Q(status=Gesture.Status.DELIVERED)),
        )
        .order_by(field)
    )
    categories = dict(Gesture.Category.choices)
    result = []
    for row in rows:
        key = row[field]
        if group == "category":
            key = categories.get(key, key)
        elif group == "month":
            key = key.strftime("%B %Y")
        result.append(
            {
                "group": key,
                "gestures": row["gestures"],
                "delivered": row["delivered"],
                "committed": row["committed"] or Decimal("0"),
                "spent": row["spent"] or Decimal("0"),
            }
        )
    return result
