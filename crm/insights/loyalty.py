"""Loyalty figures for owners and managers: one code path for the dashboard and `loyalty_report`.

A *visit day* is a day, in the location's own time zone, on which a customer had at least one
interaction of kind visit or purchase there: three purchases on one afternoon are one visit day
and three purchases. Ranges are whole local days, `start` to `end` inclusive; the lists to act on
(drifting, at risk, win back, never came back) are judged as of `end`, never today, so a history
that ends in the past reads as it did then. With a location, only visits at that location count.
Archived and erased customers still count in figures (their visits happened); they are left out
of the lists to act on.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from crm.insights import impact
from crm.insights.models import LoyaltyRule
from crm.kernel import confidences, holdout, snapshots
from crm.kernel.models import Location, Snapshot, User
from customers.access import PRIVATE_NOTE, customers_for, show_follow_ups
from customers.models import Customer, FollowUp, Note, RuleExposure
from customers.services import rule_exposures_record
from journeys.models import Interaction, TouchpointMonth
from microcx import selectors as microcx_selectors
from microcx.models import Budget, Gesture, LedgerEntry
from outreach.models import Message
from outreach.offers import Offer

RETURN_DAYS = microcx_selectors.RETURN_WINDOW_DAYS  # how long a gesture's customer has to come back
LIST_LIMIT = 20  # customers kept per list to act on; the link shows them all
LIST_SHOWN = 5  # of which the dashboard shows the first
# The four lists to act on, in the order the dashboard shows them.
ACTION_LISTS = ("drifting", "at_risk", "win_back", "never_back")

LIST_TITLES = {
    "drifting": "Regulars drifting away",
    "at_risk": "At risk regulars",
    "win_back": "Win back",
    "never_back": "New customers who never came back",
}
NOTES_PER_CUSTOMER = 2
HELD_OUT = "win_back_held_out"  # the win-back rule's hold-out: left off the list, measured on the impact card

# How each figure is counted, shown beside it on the dashboard.
DEFINITIONS = {
    "active": "Customers with at least one visit or purchase in the range.",
    "new": "Active customers whose first visit ever falls in the range.",
    "repeat_rate": "Share of active customers who came in on at least two different days in the range.",
    "visits_per_customer": "Days a customer came in (in the location's time zone; several purchases that day "
    "count once), per active customer.",
    "purchases": "Purchases count every purchase, even several on one day.",
    "revenue_per_customer": "Amounts recorded on purchases in the range, divided by active customers.",
    "cohorts": "Customers grouped by the month of their first visit; each later month shows the share of "
    "them who visited again in that month.",
    "drifting": "Regulars (at least three visit days up to the end of the range) whose days since their last "
    "visit day, counted at the end of the range, exceed twice their usual gap between visit days "
    "(archived customers left out).",
    "at_risk": "Regulars (at least three visit days up to the end of the range) who are past their usual gap "
    "between visit days at the end of the range, but not yet twice it.",
    "win_back": "The business's own win-back rule, set by an owner below.",
    "never_back": "Customers whose first and only visit day fell in the range, long enough before its end "
    "(the win-back rule's quiet weeks) that they could have come back.",
    "follow_ups": "Follow-ups created in the range; done and dismissed ones closed in the range; overdue: open "
    "and past their date today; median days from creation to done.",
    "word_of_mouth": "Customers first seen in the range who were referred by another customer, and who referred most.",
    "microcx": "Budget allocated for periods overlapping the range against what was spent and is held; gestures "
    "approved or delivered in the range by category.",
    "touchpoints": "Interactions in the months of the range, by touchpoint and stage.",
    "offers": "Offers whose message went out in the range (at the location chosen), how many of them were "
    "redeemed so far, and the share of the customers who got one who came in (a visit or purchase anywhere) "
    "after it was sent and within 90 days of it; offers sent in the last 90 days still have time.",
}


@dataclass(frozen=True)
class WinBack:
    """The win-back rule as the figures use it: at least `visit_days` visit days in the last `months`
    months and none in the last `quiet_weeks` weeks, all counted back from the end of the range."""

    visit_days: int = 3
    months: int = 6
    quiet_weeks: int = 6

    @classmethod
    def current(cls) -> WinBack:
        rule = LoyaltyRule.current()
        return cls(rule.regular_visit_days, rule.regular_months, rule.quiet_weeks)

    def regular_from(self, as_of: datetime.date) -> datetime.date:
        """The first day of the window in which the visit days are counted."""
        return as_of - relativedelta(months=self.months) + datetime.timedelta(days=1)

    def quiet_from(self, as_of: datetime.date) -> datetime.date:
        """The first day of the quiet weeks: a visit day on or after it means they are not lost."""
        return as_of - datetime.timedelta(weeks=self.quiet_weeks) + datetime.timedelta(days=1)

    def sentence(self, as_of: datetime.date) -> str:
        """The rule in words, with the dates it means for this range."""
        return (
            f"At least {self.visit_days} visit days from {self.regular_from(as_of):%-d %b %Y} to "
            f"{as_of:%-d %b %Y} ({self.months} month{'s' if self.months != 1 else ''}), and none from "
            f"{self.quiet_from(as_of):%-d %b %Y} on (the last {self.quiet_weeks} week"
            f"{'s' if self.quiet_weeks != 1 else ''})."
        )


@dataclass(frozen=True)
class Filters:
    start: datetime.date
    end: datetime.date
    location: Location | None = None
    allowed: tuple[int, ...] | None = None  # a manager's own locations; None for owners (all)
    win_back: WinBack | None = None  # None: the business's stored rule

    @property
    def location_ids(self) -> list[int] | None:
        if self.location is not None:
            return [self.location.pk]
        return list(self.allowed) if self.allowed is not None else None

    @cached_property
    def as_of(self) -> datetime.date:
        """The day the lists to act on are judged on: the end of the range (today if it ends later), not today."""
        return min(self.end, timezone.localdate())

    def rule(self) -> WinBack:
        return self.win_back if self.win_back is not None else WinBack.current()

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        return start, end

    def as_dict(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "location": self.location.name if self.location else "all",
        }


# Locations may sit in other time zones than the business: widen the indexed range by this much,
# then keep exactly the location-local days asked for.
_TZ_MARGIN = datetime.timedelta(days=2)


def _zones() -> dict[str, list[int]]:
    """Location ids by time zone (a business has a few locations, most often all in one zone)."""
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, zone in Location.objects.order_by("pk").values_list("pk", "timezone"):
        zones[zone].append(pk)
    return dict(zones)


def local_day(zones: dict[str, list[int]] | None = None) -> Cast | Case:
    """The interaction's day in its own location's time zone.

    Each zone is written as a constant (one branch per zone): PostgreSQL converts with a constant
    zone several times faster than with a zone name read from every row.
    """
    zones = _zones() if zones is None else zones

    def day_in(zone: str) -> Cast:
        instant = Func(Value(zone), F("occurred_at"), function="timezone", output_field=DateTimeField())
        return Cast(instant, DateField())

    if len(zones) <= 1:
        return day_in(next(iter(zones), settings.TIME_ZONE))
    return Case(
        *(When(location_id__in=ids, then=day_in(zone)) for zone, ids in zones.items()), output_field=DateField()
    )


def _local_day_sql(zones: dict[str, list[int]]) -> tuple[str, list]:
    """local_day() for hand-written SQL over `journeys_interaction i`: the SQL and its parameters."""
    if len(zones) <= 1:
        return "(i.occurred_at AT TIME ZONE %s)::date", [next(iter(zones), settings.TIME_ZONE)]
    branches, params = [], []
    for zone, ids in zones.items():
        branches.append("WHEN i.location_id = ANY(%s) THEN (i.occurred_at AT TIME ZONE %s)::date")
        params += [ids, zone]
    return f"CASE {' '.join(branches)} END", params


def visits(filters: Filters, zones: dict[str, list[int]] | None = None) -> QuerySet[Interaction]:
    """Visits and purchases on the location-local days of the range, each annotated with its `day`."""
    start, end = filters.bounds()
    queryset = (
        Interaction.objects.filter(
            kind__in=Interaction.VISIT_KINDS, occurred_at__gte=start - _TZ_MARGIN, occurred_at__lt=end + _TZ_MARGIN
        )
        .annotate(day=local_day(zones))
        .filter(day__gte=filters.start, day__lte=filters.end)
    )
    if filters.location_ids is not None:
        queryset = queryset.filter(location_id__in=filters.location_ids)
    return queryset


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def headline(filters: Filters, counted: VisitDays | None = None) -> dict:
    """Active, new and repeat customers, visit days, purchases and revenue (from the one visit-day count)."""
    totals = (counted or visit_days(filters)).totals
    active, repeat, days = totals["active"], totals["repeat"], totals["visit_days"]
    revenue = totals["revenue"]
    return {
        "active": active,
        "new": totals["new"],
        "repeat": repeat,
        "repeat_rate": _pct(repeat, active),
        "visit_days": days,
        "visits_per_customer": round(days / active, 2) if active else None,
        "purchases": totals["purchases"],
        "revenue": str(revenue.quantize(Decimal("0.01"))),
        "revenue_per_customer": str((revenue / active).quantize(Decimal("0.01"))) if active else None,
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
        .annotate(cohort=TruncMonth("customer__first_visit_at"), month=TruncMonth("day", output_field=DateField()))
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


# --- the lists to act on, judged at the end of the range ---------------------------------------------


@dataclass(frozen=True)
class History:
    """One customer's visit days up to the as-of date (at the filtered locations)."""

    customer_id: int
    days: int
    first_day: datetime.date
    last_day: datetime.date
    recent_days: int  # visit days inside the win-back rule's months

    def days_since(self, as_of: datetime.date) -> int:
        return (as_of - self.last_day).days

    @property
    def usual_gap(self) -> float | None:
        """Average days between visit days; None before a second visit day."""
        return (self.last_day - self.first_day).days / (self.days - 1) if self.days >= 2 else None


@dataclass(frozen=True)
class VisitDays:
    """The range's headline totals and every customer's visit days up to the as-of date, from one scan."""

    totals: dict
    histories: list[History]
    monthly: list[dict]  # per local month of the range: visit days, purchases, customers


def _day_rows_sql(until: datetime.datetime, location_ids: list[int] | None, *, by_location: bool) -> tuple[str, list]:
    """The visits before `until` grouped into (customer[, location], local day) rows with their purchases
    and revenue: the visit-day rows every figure counts. The SQL and its parameters."""
    day_sql, day_params = _local_day_sql(_zones())
    where_location, location_params = "", []
    if location_ids is not None:
        where_location, location_params = "AND i.location_id = ANY(%s)", [location_ids]
    location = "i.location_id, " if by_location else ""
    sql = f"""
        SELECT i.customer_id, {location}{day_sql} AS day,
            count(*) FILTER (WHERE i.kind = %s) AS purchases, sum(i.amount) AS revenue
        FROM {Interaction._meta.db_table} i
        WHERE i.kind = ANY(%s) AND i.occurred_at < %s {where_location}
        GROUP BY {"1, 2, 3" if by_location else "1, 2"}
    """  # noqa: S608 (the table name comes from the model; every value is a parameter)
    params = [*day_params, Interaction.Kind.PURCHASE, list(Interaction.VISIT_KINDS), until, *location_params]
    return sql, params


# Each customer's visit days up to the as-of day (the second parameter), and those since the win-back
# rule's window opened (the first), over visit-day rows `rows` (customer_id, day, ...).
_HISTORY_SQL = """
    SELECT customer_id, count(*) AS days, min(day) AS first_day, max(day) AS last_day,
        count(*) FILTER (WHERE day >= %s) AS recent_days
    FROM {rows} WHERE day <= %s GROUP BY customer_id
"""


class DayRollup:
    """The visit-day rows, computed once and shared by every range and location of a snapshot run.

    Two temporary tables on this connection: (customer, location, day) rows, and the same summed over the
    locations as (customer, day) rows. Ranges ending on or before `last_day` read them instead of grouping
    the interactions again (the costly part of visit_days). Use as a context manager: the tables are dropped.
    """

    _BY_LOCATION = "loyalty_day_rollup_by_location"
    _ALL = "loyalty_day_rollup_all"

    def __init__(self, last_day: datetime.date):
        self.last_day = last_day
        self._histories: dict[tuple, str] = {}

    def __enter__(self) -> DayRollup:
        until = _midnight(self.last_day + datetime.timedelta(days=1)) + _TZ_MARGIN
        sql, params = _day_rows_sql(until, None, by_location=True)
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '256MB'")  # group in memory, not on disk (for this session only)
            cursor.execute(f"DROP TABLE IF EXISTS {self._BY_LOCATION}, {self._ALL}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self._BY_LOCATION} AS {sql}", params)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self._ALL} AS SELECT customer_id, day, sum(purchases) AS purchases, "  # noqa: S608
                f"sum(revenue) AS revenue FROM {self._BY_LOCATION} GROUP BY 1, 2"
            )
            cursor.execute(f"CREATE INDEX ON {self._BY_LOCATION} (location_id)")
            cursor.execute(f"ANALYZE {self._BY_LOCATION}")
            cursor.execute(f"ANALYZE {self._ALL}")
        return self

    def __exit__(self, *exc) -> None:
        with connection.cursor() as cursor:
            for table in self._histories.values():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"DROP TABLE IF EXISTS {self._BY_LOCATION}, {self._ALL}")
            cursor.execute("RESET work_mem")

    def rows_sql(self, location_ids: list[int] | None) -> tuple[str, list]:
        if location_ids is None:
            return f"SELECT customer_id, day, purchases, revenue FROM {self._ALL}", []  # noqa: S608
        if len(location_ids) == 1:  # one location: its rows are already one per customer and day
            return (
                f"SELECT customer_id, day, purchases, revenue FROM {self._BY_LOCATION} WHERE location_id = %s",  # noqa: S608
                [location_ids[0]],
            )
        return (
            f"SELECT customer_id, day, sum(purchases) AS purchases, sum(revenue) AS revenue "  # noqa: S608
            f"FROM {self._BY_LOCATION} WHERE location_id = ANY(%s) GROUP BY 1, 2",
            [location_ids],
        )

    def history_sql(
        self, location_ids: list[int] | None, as_of: datetime.date, regular_from: datetime.date
    ) -> tuple[str, list]:
        """Each customer's history at these locations, computed on first use and kept for the other ranges."""
        key = (tuple(location_ids) if location_ids is not None else None, as_of, regular_from)
        if key not in self._histories:
            table = f"loyalty_day_history_{len(self._histories)}"
            rows_sql, rows_params = self.rows_sql(location_ids)
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} AS {_HISTORY_SQL.format(rows=f'({rows_sql}) x')}",
                    [regular_from, *rows_params, as_of],  # in the order the SQL reads them
                )
                cursor.execute(f"ANALYZE {table}")
            self._histories[key] = table
        return f"SELECT * FROM {self._histories[key]}", []  # noqa: S608


def _one_pass_sql(filters: Filters) -> tuple[str, list]:
    """visit_days' query without a rollup: group the interactions and count everything in one pass."""
    rule = filters.rule()
    as_of = filters.as_of
    start, until = filters.bounds()
    day_sql, day_params = _local_day_sql(_zones())
    where_location, location_params = "", []
    if filters.location_ids is not None:
        where_location, location_params = "AND i.location_id = ANY(%s)", [filters.location_ids]
    in_range = "v.day >= %s AND v.day <= %s"
    sql = f"""
        WITH v AS (
            SELECT i.customer_id, {day_sql} AS day,
                count(*) FILTER (WHERE i.kind = %s) AS purchases, sum(i.amount) AS revenue
            FROM {Interaction._meta.db_table} i
            WHERE i.kind = ANY(%s) AND i.occurred_at < %s {where_location}
            GROUP BY 1, 2
        ), per AS (
            SELECT v.customer_id,
                count(*) FILTER (WHERE v.day <= %s) AS days,
                min(v.day) FILTER (WHERE v.day <= %s) AS first_day,
                max(v.day) FILTER (WHERE v.day <= %s) AS last_day,
                count(*) FILTER (WHERE v.day >= %s AND v.day <= %s) AS recent_days,
                count(*) FILTER (WHERE {in_range}) AS range_days,
                coalesce(sum(v.purchases) FILTER (WHERE {in_range}), 0) AS range_purchases,
                coalesce(sum(v.revenue) FILTER (WHERE {in_range}), 0) AS range_revenue
            FROM v
            WHERE v.day <= %s
            GROUP BY v.customer_id
        )
        SELECT 'total', NULL::integer, NULL::bigint, NULL::date, NULL::date, NULL::bigint,
            count(*) FILTER (WHERE p.range_days > 0),
            coalesce(sum(p.range_days), 0),
            coalesce(sum(p.range_purchases), 0),
            coalesce(sum(p.range_revenue), 0),
            count(*) FILTER (WHERE p.range_days >= 2),
            count(*) FILTER (WHERE p.range_days > 0 AND c.first_visit_at >= %s AND c.first_visit_at < %s)
        FROM per p JOIN {Customer._meta.db_table} c ON c.id = p.customer_id
        UNION ALL
        SELECT 'history', p.customer_id, p.days, p.first_day, p.last_day, p.recent_days,
            NULL, NULL, NULL, NULL, NULL, NULL
        FROM per p JOIN {Customer._meta.db_table} c ON c.id = p.customer_id
        WHERE p.last_day < %s AND c.archived_at IS NULL AND c.erased_at IS NULL
        UNION ALL
        SELECT 'month', NULL, NULL, date_trunc('month', v.day)::date, NULL, NULL,
            count(DISTINCT v.customer_id), count(*), sum(v.purchases), NULL, NULL, NULL
        FROM v
        WHERE {in_range}
        GROUP BY date_trunc('month', v.day)
    """  # noqa: S608 (table names come from the models; every value is a parameter)
    range_params = [filters.start, filters.end]
    params = [
        *day_params,
        Interaction.Kind.PURCHASE,
        list(Interaction.VISIT_KINDS),
        until + _TZ_MARGIN,
        *location_params,
        as_of,
        as_of,
        as_of,
        rule.regular_from(as_of),
        as_of,
        *range_params,
        *range_params,
        *range_params,
        filters.end,
        start,
        until,
        as_of,
        *range_params,
    ]
    return sql, params


def visit_days(filters: Filters, rollup: DayRollup | None = None) -> VisitDays:
    """Count visit days once, for the headline and for the lists to act on: one query over the visits.

    Visit days are distinct (customer, location-local day) pairs, so purchases on one afternoon count once.
    The histories hold the customers, not archived or erased and not in on the as-of day, who may belong
    to a list; the totals hold every customer active in the range (archived and erased too). With a
    `rollup` (ranges ending by its last day), the visit-day rows are read from it instead of grouped again.
    """
    rule = filters.rule()
    as_of = filters.as_of
    start, until = filters.bounds()
    regular_from = rule.regular_from(as_of)
    range_params = [filters.start, filters.end]
    if rollup is None or filters.end > rollup.last_day:
        sql, params = _one_pass_sql(filters)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return _visit_days_from(cursor.fetchall())
    # The shared rows and each customer's history (the same for every range judged on this as-of day).
    rows_sql, rows_params = rollup.rows_sql(filters.location_ids)
    hist_sql, hist_params = rollup.history_sql(filters.location_ids, as_of, regular_from)
    ctes = f"""r AS MATERIALIZED (
            SELECT x.* FROM ({rows_sql}) x WHERE x.day >= %s AND x.day <= %s
        ), h AS ({hist_sql})"""  # noqa: S608
    cte_params = [*rows_params, *range_params, *hist_params]
    sql = f"""
        WITH {ctes}, per AS MATERIALIZED (
            SELECT r.customer_id, count(*) AS range_days,
                coalesce(sum(r.purchases), 0) AS range_purchases, coalesce(sum(r.revenue), 0) AS range_revenue
            FROM r
            GROUP BY r.customer_id
        )
        SELECT 'total', NULL::integer, NULL::bigint, NULL::date, NULL::date, NULL::bigint,
            count(*),
            coalesce(sum(p.range_days), 0),
            coalesce(sum(p.range_purchases), 0),
            coalesce(sum(p.range_revenue), 0),
            count(*) FILTER (WHERE p.range_days >= 2),
            count(*) FILTER (WHERE c.first_visit_at >= %s AND c.first_visit_at < %s)
        FROM per p JOIN {Customer._meta.db_table} c ON c.id = p.customer_id
        UNION ALL
        SELECT 'history', h.customer_id, h.days, h.first_day, h.last_day, h.recent_days,
            NULL, NULL, NULL, NULL, NULL, NULL
        FROM h JOIN {Customer._meta.db_table} c ON c.id = h.customer_id
        WHERE h.last_day < %s AND c.archived_at IS NULL AND c.erased_at IS NULL
        UNION ALL
        SELECT 'month', NULL, NULL, date_trunc('month', r.day)::date, NULL, NULL,
            count(DISTINCT r.customer_id), count(*), sum(r.purchases), NULL, NULL, NULL
        FROM r
        GROUP BY date_trunc('month', r.day)
    """  # noqa: S608 (table names come from the models; every value is a parameter)
    params = [*cte_params, start, until, as_of]
    with transaction.atomic(), connection.cursor() as cursor:
        # Up to a million visit-day rows at scale: group them in memory rather than spill to disk, and join
        # the customers by hash (the planner cannot see how many customers the CTEs hold and would loop).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql, params)
        return _visit_days_from(cursor.fetchall())


def _visit_days_from(rows: list[tuple]) -> VisitDays:
    totals: dict = {}
    histories: list[History] = []
    monthly: list[dict] = []
    for kind, *row in rows:
        if kind == "total":
            active, days, purchases, revenue, repeat, new = row[5:]
            totals = {
                "active": active,
                "visit_days": int(days),
                "purchases": int(purchases),
                "revenue": Decimal(revenue),
                "repeat": repeat,
                "new": new,
            }
        elif kind == "history":
            histories.append(History(*row[:5]))
        else:
            customers, days, purchases = row[5:8]
            monthly.append(
                {
                    "month": row[2].isoformat()[:7],
                    "visit_days": int(days),
                    "purchases": int(purchases),
                    "customers": customers,
                }
            )
    monthly.sort(key=lambda m: m["month"])
    return VisitDays(totals, histories, monthly)


@lru_cache(maxsize=64)
def _quiet_from(rule: WinBack, as_of: datetime.date) -> datetime.date:
    return rule.quiet_from(as_of)


def classify(history: History, filters: Filters, rule: WinBack) -> set[str]:
    """Which lists to act on this customer belongs to, as of the end of the range: the one place of the rules."""
    as_of = filters.as_of
    since = history.days_since(as_of)
    lists = set()
    if history.days >= 3:
        gap = history.usual_gap
        if since > 2 * gap:
            lists.add("drifting")
        elif since > gap:
            lists.add("at_risk")
    quiet_from = _quiet_from(rule, as_of)
    if history.recent_days >= rule.visit_days and history.last_day < quiet_from:
        lists.add("win_back")
    if history.days == 1 and filters.start <= history.first_day < quiet_from:
        lists.add("never_back")
    return lists


_LIST_ORDER = {
    # most loyal first; among equals, the most recently seen (the easiest to bring back)
    "drifting": lambda h: (-h.days, -h.last_day.toordinal(), h.customer_id),
    "at_risk": lambda h: (-h.days, -h.last_day.toordinal(), h.customer_id),
    "win_back": lambda h: (-h.recent_days, -h.last_day.toordinal(), h.customer_id),
    "never_back": lambda h: (-h.first_day.toordinal(), h.customer_id),
}


def action_members(filters: Filters, counted: VisitDays | None = None) -> dict[str, list[History]]:
    """Every customer of each list to act on, in the order the dashboard shows them."""
    rule = filters.rule()
    members: dict[str, list[History]] = {name: [] for name in ACTION_LISTS}
    for history in (counted or visit_days(filters)).histories:
        for name in classify(history, filters, rule):
            members[name].append(history)
    for name, histories in members.items():
        histories.sort(key=_LIST_ORDER[name])
    # The win-back list is a rule staff act on: its stable hold-out is left off it, and measured against it.
    members[HELD_OUT] = [h for h in members["win_back"] if holdout.held_out(RuleExposure.Rule.WIN_BACK, h.customer_id)]
    if members[HELD_OUT]:
        held = {h.customer_id for h in members[HELD_OUT]}
        members["win_back"] = [h for h in members["win_back"] if h.customer_id not in held]
    return members


def every_gap(days: float | None) -> str:
    """A usual gap in words: "usually every day", "usually every 12 days", never a bare number."""
    if days is None:
        return "one visit day so far"
    days = max(1, round(days))
    return "usually every day" if days == 1 else f"usually every {days} days"


def action_lists(filters: Filters, counted: VisitDays | None = None) -> dict:
    """The four lists to act on: how many, and the first customers of each with their visit days.

    Notes, follow-ups and contact links are added per reader when the page is shown (they depend on who reads).
    """
    rule = filters.rule()
    members = action_members(filters, counted)
    shown = {name: histories[:LIST_LIMIT] for name, histories in members.items()}
    ids = {h.customer_id for histories in shown.values() for h in histories}
    customers = Customer.objects.select_related("home_location").in_bulk(ids)
    as_of = filters.as_of

    def row(h: History) -> dict:
        customer = customers[h.customer_id]
        return {
            "id": h.customer_id,
            "name": customer.full_name,
            "first_name": customer.greeting_name,
            "location": customer.home_location.name,
            "visit_days": h.days,
            "recent_visit_days": h.recent_days,
            "first_visit_day": h.first_day.isoformat(),
            "last_visit_day": h.last_day.isoformat(),
            "days_since_last_visit": h.days_since(as_of),
            "usual_gap_days": round(h.usual_gap) if h.usual_gap is not None else None,
            "usually": every_gap(h.usual_gap),
        }

    lists = {name: {"count": len(members[name]), "customers": [row(h) for h in shown[name]]} for name in ACTION_LISTS}
    lists["win_back"]["held_out"] = len(members[HELD_OUT])
    lists["win_back"]["hold_out_percent"] = holdout.percent()
    lists["win_back"]["rule"] = rule.sentence(as_of)
    lists["win_back"]["parameters"] = {
        "visit_days": rule.visit_days,
        "months": rule.months,
        "quiet_weeks": rule.quiet_weeks,
    }
    lists["as_of"] = as_of.isoformat()
    return lists


def reader_details(user: User, customer_ids: set[int]) -> dict[int, dict]:
    """For the customers of the lists, what this reader may see: latest notes, open follow-ups, contact links.

    Asked per request, not kept in the shared snapshot: who may read a sensitive note is decided by
    crm.kernel.confidences (Note.objects.visible_to, show_follow_ups). A sensitive note the reader may
    read still shows here only as "a private note", so reading it stays on the customer's page, where it
    is audited. Contact links offer only the channels the customer consented to.
    """
    details: dict[int, dict] = {}
    for c in customers_for(user).filter(pk__in=customer_ids):
        details[c.pk] = {
            "notes": [],
            "follow_ups": [],
            "email": c.email if c.consent_email_at and c.email else None,
            "phone": c.phone if c.consent_phone_at and c.phone else None,
        }
    if not details:
        return details
    notes = (
        Note.objects.filter(customer_id__in=list(details))
        .visible_to(user)
        .order_by("-created_at", "-pk")[: NOTES_PER_CUSTOMER * 25 * len(details)]
    )
    # Masked as for no reader in particular: a sensitive note is "a private note" here, even to its readers.
    for note in confidences.mask(None, notes, fields={"text": PRIVATE_NOTE}, source=""):
        shown = details[note.customer_id]["notes"]
        if len(shown) < NOTES_PER_CUSTOMER:
            shown.append(note.shown_text[:120])
    open_follow_ups = FollowUp.objects.filter(customer_id__in=list(details), status=FollowUp.Status.OPEN).order_by(
        "created_at", "pk"
    )[: 5 * len(details)]
    for follow_up in show_follow_ups(user, open_follow_ups):
        details[follow_up.customer_id]["follow_ups"].append(follow_up.shown_prompt)
    return details


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


def _budget_sums(budgets: QuerySet[Budget]) -> dict[str, Decimal]:
    """Allocated, spent and held money of these budgets, summed from the ledger."""
    sums = dict(
        LedgerEntry.objects.filter(budget__in=budgets).values("kind").annotate(t=Sum("amount")).values_list("kind", "t")
    )
    zero = Decimal(0)
    spent = sums.get("spend", zero)
    return {
        "allocated": sums.get("allocation", zero) + sums.get("adjustment", zero),
        "spent": spent,
        "held": sums.get("hold", zero) - spent - sums.get("release", zero),
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
    sums = _budget_sums(budgets)
    categories = dict(Gesture.Category.choices)
    by_category = [
        {"category": categories[row["category"]], "gestures": row["n"], "amount": str(row["amount"])}
        for row in gestures.values("category").annotate(n=Count("pk"), amount=Sum("amount")).order_by("-n")
    ]
    return {
        "allocated": str(sums["allocated"]),
        "spent": str(sums["spent"]),
        "held": str(sums["held"]),
        "by_category": by_category,
    }


def gesture_period(filters: Filters) -> dict:
    """Spent against allocated in the budget periods that hold the as-of day ("this month" for today)."""
    budgets = Budget.objects.filter(starts_on__lte=filters.as_of, ends_on__gte=filters.as_of)
    if filters.location_ids is not None:
        budgets = budgets.filter(location_id__in=filters.location_ids)
    labels = sorted({budget.label for budget in budgets})
    sums = _budget_sums(budgets)
    return {"period": " and ".join(labels), "spent": str(sums["spent"]), "allocated": str(sums["allocated"])}


def week(lists: dict, follow_ups: dict, gestures: dict) -> dict:
    """What matters this week, for the dashboard's first line."""
    drifting = lists["drifting"]
    names = [c["first_name"] for c in drifting["customers"][:3]]
    return {
        "drifting": drifting["count"],
        "drifting_names": names,
        "drifting_more": max(0, drifting["count"] - len(names)),
        "overdue": follow_ups["overdue"],
        "gestures": gestures,
    }


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def offers_sent(filters: Filters) -> QuerySet[Offer]:
    """Offers whose message went out in the range, at the filtered locations."""
    start, end = filters.bounds()
    sent = Offer.objects.filter(
        message__state=Message.State.SENT, message__sent_at__gte=start, message__sent_at__lt=end
    )
    if filters.location_ids is not None:
        sent = sent.filter(location_id__in=filters.location_ids)
    return sent


def offer_figures(filters: Filters) -> dict:
    """Offers sent, redeemed, and the return rate of the customers who got one, in one set-based query.

    A customer returned when they have a visit or purchase after an offer's message was sent and
    within RETURN_DAYS days of it (an EXISTS per offer, counted once per customer).
    """
    sent_at = OuterRef("message__sent_at")
    came_back = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"),
        kind__in=Interaction.VISIT_KINDS,
        occurred_at__gt=sent_at,
        occurred_at__lte=ExpressionWrapper(
            sent_at + datetime.timedelta(days=RETURN_DAYS), output_field=DateTimeField()
        ),
    )
    totals = (
        offers_sent(filters)
        .annotate(came_back=Exists(came_back))
        .aggregate(
            sent=Count("pk"),
            redeemed=Count("pk", filter=Q(redeemed_at__isnull=False)),
            customers=Count("customer_id", distinct=True),
            returned=Count("customer_id", distinct=True, filter=Q(came_back=True)),
        )
    )
    return {
        **totals,
        "redeemed_rate": _pct(totals["redeemed"], totals["sent"]),
        "return_rate": _pct(totals["returned"], totals["customers"]),
    }


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


def monthly_visits(filters: Filters, counted: VisitDays | None = None) -> list[dict]:
    """Per local month of the range: visit days (distinct customer-days), purchases and customers."""
    return (counted or visit_days(filters)).monthly


def compute(filters: Filters, counted: VisitDays | None = None) -> dict:
    """Every figure of the dashboard and the report, for one range and location."""
    if filters.win_back is None:  # read the stored rule once, not once per list
        filters = Filters(filters.start, filters.end, filters.location, filters.allowed, WinBack.current())
    counted = counted or visit_days(filters)  # one scan of the visits for the headline and the lists
    lists = action_lists(filters, counted)
    follow_ups = follow_up_figures(filters)
    return {
        "filters": filters.as_dict(),
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "week": week(lists, follow_ups, gesture_period(filters)),
        "headline": headline(filters, counted),
        "monthly": monthly_visits(filters, counted),
        "cohorts": cohorts(filters),
        "lists": lists,
        "follow_ups": follow_ups,
        "word_of_mouth": word_of_mouth(filters),
        "microcx": microcx(filters),
        "touchpoints": touchpoints(filters),
        "offers": offer_figures(filters),
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
            .annotate(days=Count("day", distinct=True))
            .filter(days__gte=2)
            .values("customer_id")
        )
        return customers.filter(pk__in=repeat_ids)
    if figure in ACTION_LISTS:
        return customers.filter(pk__in=[h.customer_id for h in action_members(filters)[figure]])
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
    if figure == "offer":
        return customers.filter(pk__in=offers_sent(filters).values("customer_id"))
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


FIGURES = {"active", "new", "repeat", "referred", "gesture", "offer", "cohort", *ACTION_LISTS}


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
    rule = filters.rule()
    rule_key = f"{rule.visit_days}-{rule.months}-{rule.quiet_weeks}"
    return f"loyalty|{filters.start}|{filters.end}|{location}|{allowed}|{rule_key}"


def figures(filters: Filters, *, max_age: datetime.timedelta = SNAPSHOT_MAX_AGE) -> dict:
    """The figures from a recent snapshot, else computed now (and kept for the next visitor)."""
    return snapshots.cached(snapshot_key(filters), lambda: compute(filters), max_age=max_age)


def refresh_snapshots() -> int:
    """Recompute the standard ranges for every location and for the whole business."""
    today = timezone.localdate()
    locations = [None, *Location.objects.filter(is_active=True)]
    rule = WinBack.current()
    count = 0
    # Group the visits into visit-day rows once for every range and location, not once for each.
    with DayRollup(today) as rollup:
        for start, end in standard_ranges(today).values():
            for location in locations:
                filters = Filters(start, end, location, win_back=rule)
                counted = visit_days(filters, rollup)
                snapshots.store(snapshot_key(filters), compute(filters, counted))
                count += 1
                if location is None and (start, end) == standard_ranges(today)["Last 12 months"]:
                    # Today's win-back list, as staff see it: who is on it and whom its hold-out leaves off.
                    record_win_back(filters, action_members(filters, counted))
    snapshots.forget_older_than(datetime.timedelta(days=1))
    return count


# --- the gestures' monthly review: did the customer come back? ---


def with_return(gestures: QuerySet[Gesture]) -> QuerySet[Gesture]:
    """Annotate delivered gestures with `return_by` and whether the customer visited by then (`came_back`)."""
    came_back = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"),
        kind__in=Interaction.VISIT_KINDS,
        occurred_at__date__gt=OuterRef("delivered_on"),
        occurred_at__date__lte=OuterRef("return_by"),
    )
    return gestures.annotate(
        return_by=F("delivered_on") + datetime.timedelta(days=RETURN_DAYS), came_back=Exists(came_back)
    )


def monthly_review(month_start: datetime.date, locations: list[Location]) -> dict:
    """One month of micro-CX: what each budget used, what was delivered, and whether the customer came back
    within 90 days (a loyalty figure: it reads microcx's gestures and journeys' visits, so it lives here)."""
    month_end = Budget.period_bounds(Budget.Period.MONTH, month_start)[1]
    budgets = list(
        Budget.objects.filter(
            location__in=locations, starts_on__lte=month_end, ends_on__gte=month_start
        ).select_related("location")
    )
    delivered = list(
        with_return(
            Gesture.objects.filter(
                status=Gesture.Status.DELIVERED,
                delivered_on__gte=month_start,
                delivered_on__lte=month_end,
                location__in=locations,
            )
        )
        .select_related("customer", "proposed_by", "location")
        .order_by("delivered_on", "pk")
    )
    for gesture in delivered:
        gesture.return_outcome, gesture.days_since_delivery = return_outcome(gesture)
    return {"budgets": microcx_selectors.budget_views(budgets), "delivered": delivered}


def return_outcome(gesture: Gesture) -> tuple[str, int]:
    """Say whether a delivered gesture's customer came back, did not, or whether it is too early to tell,
    counting days in the gesture's location's own calendar; return that and the days since delivery."""
    days = (gesture.location.local_today() - gesture.delivered_on).days
    if gesture.came_back:
        return "came_back", days
    if days <= RETURN_DAYS:
        return "too_early", max(days, 0)
    return "did_not", days


def refresh_impact() -> int:
    """Recompute the matched comparison and the hold-outs for the last 12 months (the page sums the rows
    for any range and location); returns how many recipients it compared. Its own task: tens of seconds at scale."""
    today = timezone.localdate()
    figures = impact.compute(today, standard_ranges(today)["Last 12 months"][0])
    snapshots.store(IMPACT_KEY, figures)
    return len(figures["recipients"])


IMPACT_KEY = "impact"


def record_win_back(filters: Filters, members: dict[str, list[History]]) -> None:
    """Record who is on the win-back list today and who its hold-out leaves off (RuleExposure)."""
    histories = members["win_back"] + members[HELD_OUT]
    homes = dict(
        Customer.objects.filter(pk__in=[h.customer_id for h in histories]).values_list("pk", "home_location_id")
    )
    rule_exposures_record(
        rule=RuleExposure.Rule.WIN_BACK,
        picks=[(h.customer_id, homes[h.customer_id], h.last_day) for h in histories],
        picked_on=filters.as_of,
    )


def impact_figures(filters: Filters) -> dict:
    """Did the gestures and the rules help, for this range: summed from the snapshot task's rows (one query)."""
    stored = Snapshot.objects.filter(key=IMPACT_KEY).values_list("figures", flat=True).first()
    return impact.summary(stored, filters.start, filters.end, filters.location_ids)
