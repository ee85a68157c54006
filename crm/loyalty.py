"""Loyalty figures for owners and managers: one code path for the dashboard and `loyalty_report`.

A *visit* is an interaction of kind visit or purchase. Ranges are whole local
days, `start` to `end` inclusive. With a location, only visits at that
location count. Archived and erased customers still count in figures (their
visits happened); they are left out of the lists to act on (drifting away).
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from crm import snapshots
from crm.models import Location, User
from customers.access import show_follow_ups
from customers.models import Customer, FollowUp, Note
from journeys.models import Interaction, TouchpointMonth
from microcx import selectors as microcx_selectors
from microcx.models import Budget, Gesture, LedgerEntry

RETURN_DAYS = microcx_selectors.RETURN_WINDOW_DAYS
DRIFTING_LIMIT = 20
VISIT_BUCKETS = [(1, 1), (2, 3), (4, 9), (10, 10**9)]

# How each figure is counted, shown beside it on the dashboard.
DEFINITIONS = {
    "active": "Customers with at least one visit or purchase in the range.",
    "new": "Active customers whose first visit ever falls in the range.",
    "repeat_rate": "Share of active customers who visited on at least two different days in the range.",
    "visits_per_customer": "Visits and purchases in the range, divided by active customers.",
    "revenue_per_customer": "Amounts recorded on purchases in the range, divided by active customers.",
    "cohorts": "Customers grouped by the month of their first visit; each later month shows the share of "
    "them who visited again in that month.",
    "drifting": "Customers with at least three visits whose days since their last visit exceed twice their own "
    "usual gap between visits (archived customers left out).",
    "follow_ups": "Follow-ups created in the range; done and dismissed ones closed in the range; overdue: open "
    "and past their date today; median days from creation to done.",
    "word_of_mouth": "Customers first seen in the range who were referred by another customer, and who referred most.",
    "microcx": "Budget allocated for periods overlapping the range against what was spent and is held; gestures "
    "approved or delivered in the range by category; return rate: gesture recipients who visited within 90 "
    "days after delivery, against customers of the same location and visit history who received none, over "
    "the same 90 days.",
    "touchpoints": "Interactions in the months of the range, by touchpoint and stage.",
}


@dataclass(frozen=True)
class Filters:
    start: datetime.date
    end: datetime.date
    location: Location | None = None
    allowed: tuple[int, ...] | None = None  # a manager's own locations; None for owners (all)

    @property
    def location_ids(self) -> list[int] | None:
        if self.location is not None:
            return [self.location.pk]
        return list(self.allowed) if self.allowed is not None else None

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        return start, end

    def as_dict(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "location": self.location.name if self.location else "all",
        }


def visits(filters: Filters) -> QuerySet[Interaction]:
    start, end = filters.bounds()
    queryset = Interaction.objects.filter(kind__in=Interaction.VISIT_KINDS, occurred_at__gte=start, occurred_at__lt=end)
    if filters.location_ids is not None:
        queryset = queryset.filter(location_id__in=filters.location_ids)
    return queryset


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def headline(filters: Filters) -> dict:
    """Active, new and repeat customers, visits and revenue: one aggregate over per-customer sums, in SQL."""
    start, end = filters.bounds()
    per_customer = (
        visits(filters)
        .values("customer_id")
        .annotate(
            n=Count("pk"),
            first_day=Min(TruncDate("occurred_at")),
            last_day=Max(TruncDate("occurred_at")),
            revenue=Sum("amount"),
            first_ever=Min("customer__first_visit_at"),
        )
    )
    totals = per_customer.aggregate(
        active=Count("customer_id"),
        visits=Sum("n"),
        revenue_total=Sum("revenue"),
        # visits on two different days: the first and last visit's local days differ
        repeat=Count("customer_id", filter=~Q(first_day=F("last_day"))),
        new=Count("customer_id", filter=Q(first_ever__gte=start, first_ever__lt=end)),
    )
    active, repeat, total_visits = totals["active"], totals["repeat"], totals["visits"] or 0
    revenue = totals["revenue_total"] or Decimal(0)
    return {
        "active": active,
        "new": totals["new"],
        "repeat": repeat,
        "repeat_rate": _pct(repeat, active),
        "visits": total_visits,
        "visits_per_customer": round(total_visits / active, 2) if active else None,
        "revenue": str(Decimal(revenue).quantize(Decimal("0.01"))),
        "revenue_per_customer": str((Decimal(revenue) / active).quantize(Decimal("0.01"))) if active else None,
    }


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def cohorts(filters: Filters) -> dict:
    """Retention by monthly cohort: for customers first seen in each month of the range, who came back when."""
    start, end = filters.bounds()
    months = months_between(filters.start, filters.end)
    cohort_visits = (
        visits(filters)
        .filter(customer__first_visit_at__gte=start, customer__first_visit_at__lt=end)
        .annotate(cohort=TruncMonth("customer__first_visit_at"), month=TruncMonth("occurred_at"))
        .values("cohort", "month")
        .annotate(customers=Count("customer_id", distinct=True))
    )
    sizes = dict(
        Customer.objects.filter(first_visit_at__gte=start, first_visit_at__lt=end)
        .filter(pk__in=visits(filters).values("customer_id"))
        .annotate(cohort=TruncMonth("first_visit_at"))
        .values("cohort")
        .annotate(n=Count("pk"))
        .values_list("cohort", "n")
    )
    sizes = {_as_date(k): v for k, v in sizes.items()}
    counts = {(_as_date(row["cohort"]), _as_date(row["month"])): row["customers"] for row in cohort_visits}
    table = []
    for cohort in months:
        size = sizes.get(cohort, 0)
        later = [m for m in months if m > cohort]
        table.append(
            {
                "cohort": cohort.isoformat()[:7],
                "customers": size,
                "retention": [
                    {
                        "month": m.isoformat()[:7],
                        "offset": index + 1,
                        "customers": counts.get((cohort, m), 0),
                        "rate": _pct(counts.get((cohort, m), 0), size),
                        # the heat map's opacity, as CSS wants it
                        "shade": f"{counts.get((cohort, m), 0) / size:.2f}" if size else "0",
                    }
                    for index, m in enumerate(later)
                ],
            }
        )
    return {"months": [m.isoformat()[:7] for m in months], "table": table}


def _as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def drifting_queryset(filters: Filters) -> QuerySet[Customer]:
    """Customers with 3+ visits whose time since the last visit is over twice their usual gap."""
    usual_gap = ExpressionWrapper(
        (F("last_visit_at") - F("first_visit_at")) / (F("visit_count") - 1), output_field=DurationField()
    )
    # "now" from Python, not the database clock, so the figure is the same in the report and in tests.
    since_last = ExpressionWrapper(
        Value(timezone.now(), output_field=DateTimeField()) - F("last_visit_at"), output_field=DurationField()
    )
    customers = Customer.objects.filter(visit_count__gte=3, archived_at__isnull=True, erased_at__isnull=True)
    if filters.location_ids is not None:
        customers = customers.filter(home_location_id__in=filters.location_ids)
    return (
        customers.annotate(usual_gap=usual_gap, since_last=since_last)
        .filter(since_last__gt=F("usual_gap") * 2)
        .order_by("last_visit_at")
    )


def drifting(filters: Filters) -> dict:
    queryset = drifting_queryset(filters)
    people = list(queryset.select_related("home_location")[:DRIFTING_LIMIT])
    ids = [c.pk for c in people]
    notes: dict[int, list[str]] = defaultdict(list)
    for note in Note.objects.filter(customer_id__in=ids, is_sensitive=False).order_by("-created_at")[:200]:
        if len(notes[note.customer_id]) < 2:
            notes[note.customer_id].append(note.text[:120])
    follow_ups: dict[int, list[str]] = defaultdict(list)
    # The figures are shared by every reader (snapshots): a sensitive note's follow-up says "a private note".
    open_follow_ups = FollowUp.objects.filter(customer_id__in=ids, status=FollowUp.Status.OPEN)[:200]
    for follow_up in show_follow_ups(None, open_follow_ups):
        follow_ups[follow_up.customer_id].append(follow_up.shown_prompt)
    now = timezone.now()
    return {
        "count": queryset.count(),
        "customers": [
            {
                "id": c.pk,
                "name": c.full_name,
                "location": c.home_location.name,
                "visits": c.visit_count,
                "days_since_last_visit": (now - c.last_visit_at).days,
                "usual_gap_days": c.usual_gap_days,
                "notes": notes[c.pk],
                "open_follow_ups": follow_ups[c.pk],
            }
            for c in people
        ],
    }


def follow_up_figures(filters: Filters) -> dict:
    start, end = filters.bounds()
    follow_ups = FollowUp.objects.all()
    if filters.location_ids is not None:
        follow_ups = follow_ups.filter(location_id__in=filters.location_ids)
    raised = follow_ups.filter(created_at__gte=start, created_at__lt=end)
    closed = follow_ups.filter(closed_at__gte=start, closed_at__lt=end)
    done = closed.filter(status=FollowUp.Status.DONE)
    today = timezone.localdate()
    durations = [
        (closed_at - created_at).total_seconds() / 86400
        for created_at, closed_at in done.values_list("created_at", "closed_at")
    ]
    per_staff: dict[str, dict] = defaultdict(lambda: {"raised": 0, "done": 0, "dismissed": 0, "days": []})
    for name, count in raised.values_list("created_by__username").annotate(n=Count("pk")):
        per_staff[name]["raised"] = count
    for name, status, created_at, closed_at in closed.values_list(
        "closed_by__username", "status", "created_at", "closed_at"
    ):
        name = name or "(former staff)"
        per_staff[name][status] += 1
        if status == FollowUp.Status.DONE:
            per_staff[name]["days"].append((closed_at - created_at).total_seconds() / 86400)
    names = {
        user.username: (user.get_full_name() or user.username)
        for user in User.objects.filter(username__in=list(per_staff))
    }
    return {
        "raised": raised.count(),
        "done": done.count(),
        "dismissed": closed.filter(status=FollowUp.Status.DISMISSED).count(),
        "overdue": follow_ups.filter(status=FollowUp.Status.OPEN, due=FollowUp.Due.ON_DATE, due_date__lt=today).count(),
        "median_days_to_done": round(statistics.median(durations), 1) if durations else None,
        "per_staff": [
            {
                "staff": names.get(name, name),
                "raised": row["raised"],
                "done": row["done"],
                "dismissed": row["dismissed"],
                "median_days_to_done": round(statistics.median(row["days"]), 1) if row["days"] else None,
            }
            for name, row in sorted(per_staff.items())
        ],
    }


def word_of_mouth(filters: Filters) -> dict:
    start, end = filters.bounds()
    referred = Customer.objects.filter(referred_by__isnull=False, first_visit_at__gte=start, first_visit_at__lt=end)
    if filters.location_ids is not None:
        referred = referred.filter(home_location_id__in=filters.location_ids)
    top = (
        referred.values("referred_by_id", "referred_by__first_name", "referred_by__last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "referred_by_id")[:5]
    )
    return {
        "referred": referred.count(),
        "top_referrers": [
            {
                "id": row["referred_by_id"],
                "name": f"{row['referred_by__first_name']} {row['referred_by__last_name']}".strip(),
                "referrals": row["n"],
            }
            for row in top
        ],
    }


def microcx(filters: Filters) -> dict:
    start, end = filters.bounds()
    budgets = Budget.objects.filter(starts_on__lte=filters.end, ends_on__gte=filters.start)
    gestures = Gesture.objects.filter(
        created_at__gte=start, created_at__lt=end, status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED]
    )
    if filters.location_ids is not None:
        budgets = budgets.filter(location_id__in=filters.location_ids)
        gestures = gestures.filter(location_id__in=filters.location_ids)
    sums = dict(
        LedgerEntry.objects.filter(budget__in=budgets).values("kind").annotate(t=Sum("amount")).values_list("kind", "t")
    )
    zero = Decimal(0)
    allocated = sums.get("allocation", zero) + sums.get("adjustment", zero)
    spent = sums.get("spend", zero)
    held = sums.get("hold", zero) - spent - sums.get("release", zero)
    categories = dict(Gesture.Category.choices)
    by_category = [
        {"category": categories[row["category"]], "gestures": row["n"], "amount": str(row["amount"])}
        for row in gestures.values("category").annotate(n=Count("pk"), amount=Sum("amount")).order_by("-n")
    ]
    return {
        "allocated": str(allocated),
        "spent": str(spent),
        "held": str(held),
        "by_category": by_category,
        "return_rate": gesture_return_rate(filters),
    }


def _bucket(visit_count: int) -> int:
    return next(i for i, (low, high) in enumerate(VISIT_BUCKETS) if low <= visit_count <= high)


def gesture_return_rate(filters: Filters) -> dict:
    """Did gesture recipients come back within 90 days more often than similar customers who got none?

    Only gestures delivered in the range at least 90 days ago count (the outcome must be known).
    Similar customers: same home location and visit-count band, no gesture ever, who visited in
    the 90 days before the delivery day; their return is a visit in the 90 days after it.
    """
    window = datetime.timedelta(days=RETURN_DAYS)
    latest = min(filters.end, timezone.localdate() - window)
    delivered = Gesture.objects.filter(
        status=Gesture.Status.DELIVERED, delivered_on__gte=filters.start, delivered_on__lte=latest
    ).select_related("customer")
    if filters.location_ids is not None:
        delivered = delivered.filter(location_id__in=filters.location_ids)
    delivered = microcx_selectors.with_return(delivered)  # one query, not one per customer
    treated: dict[int, Gesture] = {}
    for gesture in delivered.order_by("delivered_on"):
        treated.setdefault(gesture.customer_id, gesture)
    if not treated:
        return {
            "with_gesture": {"customers": 0, "returned": 0, "rate": None},
            "without_gesture": {"customers": 0, "returned": 0, "rate": None},
        }
    returned = sum(1 for gesture in treated.values() if gesture.came_back)
    # Controls: one group per (location, band, delivery day).
    groups = Counter(
        (g.customer.home_location_id, _bucket(max(1, g.customer.visit_count)), g.delivered_on) for g in treated.values()
    )
    ever_gifted = set(Gesture.objects.values_list("customer_id", flat=True))
    control_total = control_returned = 0
    seen_controls: set[int] = set()
    for (location_id, band, delivered_on), _n in groups.items():
        low, high = VISIT_BUCKETS[band]
        day = _midnight(delivered_on)
        candidates = (
            Interaction.objects.filter(
                kind__in=Interaction.VISIT_KINDS,
                occurred_at__gte=day - window,
                occurred_at__lt=day + datetime.timedelta(days=1),
                customer__home_location_id=location_id,
                customer__visit_count__gte=low,
                customer__visit_count__lte=high,
            )
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()
        )
        ids = sorted({pk for pk in candidates if pk not in seen_controls and pk not in ever_gifted})
        seen_controls.update(ids)
        came_back = (
            Interaction.objects.filter(
                customer_id__in=ids,
                kind__in=Interaction.VISIT_KINDS,
                occurred_at__gte=day + datetime.timedelta(days=1),
                occurred_at__lt=day + window + datetime.timedelta(days=1),
            )
            .values("customer_id")
            .distinct()
            .count()
        )
        control_total += len(ids)
        control_returned += came_back
    return {
        "with_gesture": {"customers": len(treated), "returned": returned, "rate": _pct(returned, len(treated))},
        "without_gesture": {
            "customers": control_total,
            "returned": control_returned,
            "rate": _pct(control_returned, control_total),
        },
    }


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def touchpoints(filters: Filters) -> list[dict]:
    months = TouchpointMonth.objects.filter(month__gte=filters.start.replace(day=1), month__lte=filters.end)
    if filters.location_ids is not None:
        months = months.filter(location_id__in=filters.location_ids)
    rows = (
        months.values("touchpoint__name", "stage")
        .annotate(n=Sum("interactions"))
        .order_by("touchpoint__position", "touchpoint__name", "stage")
    )
    table: dict[str, dict] = {}
    for row in rows:
        entry = table.setdefault(
            row["touchpoint__name"],
            {"touchpoint": row["touchpoint__name"], "before": 0, "during": 0, "after": 0, "total": 0},
        )
        entry[row["stage"]] = row["n"]
        entry["total"] += row["n"]
    return list(table.values())


def monthly_visits(filters: Filters) -> list[dict]:
    rows = (
        visits(filters)
        .annotate(month=TruncMonth("occurred_at"))
        .values("month")
        .annotate(visits=Count("pk"), customers=Count("customer_id", distinct=True))
        .order_by("month")
    )
    return [
        {"month": _as_date(row["month"]).isoformat()[:7], "visits": row["visits"], "customers": row["customers"]}
        for row in rows
    ]


def compute(filters: Filters) -> dict:
    """Every figure of the dashboard and the report, for one range and location."""
    return {
        "filters": filters.as_dict(),
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "headline": headline(filters),
        "monthly": monthly_visits(filters),
        "cohorts": cohorts(filters),
        "drifting": drifting(filters),
        "follow_ups": follow_up_figures(filters),
        "word_of_mouth": word_of_mouth(filters),
        "microcx": microcx(filters),
        "touchpoints": touchpoints(filters),
    }


def customers_behind(figure: str, filters: Filters, cohort: str | None = None, month: str | None = None):
    """The customers a figure counts, for the dashboard's links."""
    start, end = filters.bounds()
    active_ids = visits(filters).values("customer_id")
    customers = Customer.objects.all()
    if figure == "active":
        return customers.filter(pk__in=active_ids)
    if figure == "new":
        return customers.filter(pk__in=active_ids, first_visit_at__gte=start, first_visit_at__lt=end)
    if figure == "repeat":
        repeat_ids = (
            visits(filters)
            .values("customer_id")
            .annotate(days=Count(TruncDate("occurred_at"), distinct=True))
            .filter(days__gte=2)
            .values("customer_id")
        )
        return customers.filter(pk__in=repeat_ids)
    if figure == "drifting":
        return drifting_queryset(filters)
    if figure == "referred":
        queryset = customers.filter(referred_by__isnull=False, first_visit_at__gte=start, first_visit_at__lt=end)
        if filters.location_ids is not None:
            queryset = queryset.filter(home_location_id__in=filters.location_ids)
        return queryset
    if figure == "gesture":
        return customers.filter(
            gestures__status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED],
            gestures__created_at__gte=start,
            gestures__created_at__lt=end,
        ).distinct()
    if figure == "cohort" and cohort:
        first = datetime.date.fromisoformat(cohort + "-01")
        last = (first + datetime.timedelta(days=32)).replace(day=1)
        queryset = customers.filter(
            pk__in=active_ids, first_visit_at__gte=_midnight(first), first_visit_at__lt=_midnight(last)
        )
        if month:
            m_first = datetime.date.fromisoformat(month + "-01")
            m_last = (m_first + datetime.timedelta(days=32)).replace(day=1)
            month_ids = visits(
                Filters(m_first, m_last - datetime.timedelta(days=1), filters.location, filters.allowed)
            ).values("customer_id")
            queryset = queryset.filter(pk__in=month_ids)
        return queryset
    return customers.none()


FIGURES = {"active", "new", "repeat", "drifting", "referred", "gesture", "cohort"}


# --- snapshots: the standard ranges, recomputed by a Celery task every few minutes ------------------

SNAPSHOT_MAX_AGE = datetime.timedelta(minutes=15)


def standard_ranges(today: datetime.date) -> dict[str, tuple[datetime.date, datetime.date]]:
    year_ago = (today.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)
    return {
        "Last 12 months": (year_ago, today),
        "Last 90 days": (today - datetime.timedelta(days=89), today),
        "This month": (today.replace(day=1), today),
    }


def snapshot_key(filters: Filters) -> str:
    allowed = ",".join(map(str, sorted(filters.allowed))) if filters.allowed is not None else "*"
    location = filters.location.pk if filters.location else "all"
    return f"loyalty|{filters.start}|{filters.end}|{location}|{allowed}"


def figures(filters: Filters, *, max_age: datetime.timedelta = SNAPSHOT_MAX_AGE) -> dict:
    """The figures from a recent snapshot, else computed now (and kept for the next visitor)."""
    return snapshots.cached(snapshot_key(filters), lambda: compute(filters), max_age=max_age)


def refresh_snapshots() -> int:
    """Recompute the standard ranges for every location and for the whole business."""
    today = timezone.localdate()
    locations = [None, *Location.objects.filter(is_active=True)]
    count = 0
    for start, end in standard_ranges(today).values():
        for location in locations:
            filters = Filters(start, end, location)
            snapshots.store(snapshot_key(filters), compute(filters))
            count += 1
    snapshots.forget_older_than(datetime.timedelta(days=1))
    return count
