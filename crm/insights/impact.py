"""Did the gestures (and the rules) help? An honest answer, computed by the snapshot task in SQL.

Gestures. For each gesture recipient, the customers compared with them are the ones who, on the day of
the gesture, looked the same and got nothing:

- the same home location;
- the same band of visit days and of spend in the 180 days before (VISIT_BANDS, SPEND_BANDS);
- the same band of tenure, days since their first visit (TENURE_BANDS);
- the same answer to "had an unhappy interaction in the 30 days before" (so a recovery gesture is
  compared with customers who also had a bad experience);
- no gesture (no treatment of any kind) from 180 days before to the end of the return window.

Both sides "came back" when they had a visit day in the return window: the days after the gesture's day,
up to the business's typical gap between visit days (the median over customers, between 7 and 90
days; 90 days while nobody has two visit days). Only gestures whose window has ended count.

The effect is the recipients' return rate minus the average return rate of their own matched groups
(each recipient weighs its group once), with a 95 % interval from the normal approximation:
standard error = sqrt(p1 (1 - p1) / n1 + sum over groups of (k / n1)^2 p0 (1 - p0) / m), where p1
is the recipients' rate over n1 recipients and each group of m customers, p0 of whom came back, serves
k recipients. Below MIN_PER_SIDE customers on either side the page says "not enough data yet".
Recipients with no visit day in the 180 days before are counted as not compared: there is nobody
like them to compare with.

Rules. Where the business prompts staff by rule (birthdays, the win-back list), a stable hold-out
(crm/kernel/holdout.py) gets nothing; customers.RuleExposure records whom each rule picked, on which side.
The rule's effect is the return rate of the prompted minus the held-out's, with the normal
approximation for a difference of two proportions.

Other kinds of treatment (the outreach app's offers) plug in through TREATMENT_SOURCES: a function
returning SQL that selects (customer_id, location_id, day, kind) rows.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm.kernel import holdout
from crm.kernel.models import Location
from customers.models import Customer, RuleExposure
from journeys.models import Interaction
from microcx.models import Gesture

PRIOR_DAYS = 180  # the "as they were" window before the gesture
UNHAPPY_DAYS = 30  # an unhappy interaction this recent makes a gesture a recovery (when staff did not say)
DEFAULT_WINDOW = 90
MIN_WINDOW, MAX_WINDOW = 7, 90
MIN_PER_SIDE = 20  # customers on each side before a difference is shown
Z95 = 1.959964

# Bands: (label, lowest value in the band). A customer's band is the last one whose lowest value they reach.
VISIT_BANDS = [("1 visit day", 1), ("2-3 visit days", 2), ("4-7 visit days", 4), ("8 or more visit days", 8)]
SPEND_BANDS = [("no spend", 0), ("under 50", 0.01), ("50-199", 50), ("200-999", 200), ("1,000 or more", 1000)]
TENURE_BANDS = [("under 3 months", 0), ("3-12 months", 90), ("1-3 years", 365), ("over 3 years", 1095)]

KIND_TITLES = {
    "recovery": "Recovery gestures (after a bad experience)",
    "delight": "Delight gestures",
}
RULE_TITLES = dict(RuleExposure.Rule.choices)


# --- what counts as a treatment ----------------------------------------------------------------------


def gesture_treatments() -> tuple[str, list]:
    """Delivered gestures as treatment rows: the kind is what staff said, else recovery after an unhappy
    interaction in the 30 days up to the delivery day, else delight."""

    return (
        f"""
        SELECT g.customer_id, g.location_id, g.delivered_on AS day,
            CASE WHEN g.occasion <> '' THEN g.occasion
                WHEN EXISTS (
                    SELECT 1 FROM {Interaction._meta.db_table} n
                    WHERE n.customer_id = g.customer_id AND n.sentiment < 0
                        AND n.occurred_at >= g.delivered_on - {UNHAPPY_DAYS} AND n.occurred_at < g.delivered_on + 1
                ) THEN 'recovery' ELSE 'delight' END AS kind
        FROM {Gesture._meta.db_table} g
        WHERE g.status = %s AND g.delivered_on IS NOT NULL
        """,  # noqa: S608 (table names from the models, values are parameters)
        [Gesture.Status.DELIVERED],
    )


# Each source returns SQL selecting (customer_id, location_id, day, kind). An app with another kind of
# treatment (offers) appends its source and a title in KIND_TITLES; the comparison treats every kind alike,
# and a customer who got any treatment is nobody's "got nothing" control around it.
TREATMENT_SOURCES: list[Callable[[], tuple[str, list]]] = [gesture_treatments]


def _treatments_sql() -> tuple[str, list]:
    parts, params = [], []
    for source in TREATMENT_SOURCES:
        sql, source_params = source()
        parts.append(f"({sql})")
        params += source_params
    return " UNION ALL ".join(parts), params


# --- the computation (the snapshot task) -------------------------------------------------------------


def _band_sql(column: str, bands: list[tuple[str, float]]) -> str:
    ordered = reversed(list(enumerate(bands)))
    branches = " ".join(f"WHEN {column} >= {low} THEN {index}" for index, (_label, low) in ordered)
    return f"CASE {branches} ELSE -1 END"


def _day_sql(column: str, zones: dict[str, list[int]], location_column: str) -> tuple[str, list]:
    if len(zones) <= 1:
        return f"({column} AT TIME ZONE %s)::date", [next(iter(zones), settings.TIME_ZONE)]
    branches, params = [], []
    for zone, ids in zones.items():
        branches.append(f"WHEN {location_column} = ANY(%s) THEN ({column} AT TIME ZONE %s)::date")
        params += [ids, zone]
    return f"CASE {' '.join(branches)} END", params


def _zones() -> dict[str, list[int]]:
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, zone in Location.objects.order_by("pk").values_list("pk", "timezone"):
        zones[zone].append(pk)
    return dict(zones)


DROP_TEMPORARY = "DROP TABLE IF EXISTS impact_vd, impact_unhappy, impact_treated"


def compute(as_of: datetime.date, start: datetime.date) -> dict:
    """Every recipient of a treatment from `start` whose return window ended by `as_of`, with its matched
    group's counts, and every rule exposure with its outcome: the rows the page sums for any range.

    Runs in one transaction with three temporary tables (visit days, unhappy days, treatments), dropped at commit.
    """

    zones = _zones()
    margin = datetime.timedelta(days=2)
    tz = timezone.get_current_timezone()
    since = (
        datetime.datetime.combine(start - datetime.timedelta(days=PRIOR_DAYS), datetime.time.min, tzinfo=tz) - margin
    )
    until = datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz) + margin
    day_sql, day_params = _day_sql("i.occurred_at", zones, "i.location_id")
    treatments_sql, treatment_params = _treatments_sql()
    interactions, customers = Interaction._meta.db_table, Customer._meta.db_table
    first_day_sql, first_day_params = _day_sql("c.first_visit_at", zones, "c.home_location_id")
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped at commit; and here, for a caller already inside a transaction (a test, a second run).
        cursor.execute(DROP_TEMPORARY)
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE impact_vd ON COMMIT DROP AS
            SELECT i.customer_id, c.home_location_id AS location_id, {day_sql} AS day,
                coalesce(sum(i.amount), 0) AS spend
            FROM {interactions} i JOIN {customers} c ON c.id = i.customer_id
            WHERE i.kind = ANY(%s) AND i.occurred_at >= %s AND i.occurred_at < %s
            GROUP BY 1, 2, 3
            """,  # noqa: S608
            [*day_params, list(Interaction.VISIT_KINDS), since, until],
        )
        cursor.execute("CREATE INDEX ON impact_vd (location_id, day)")
        cursor.execute("CREATE INDEX ON impact_vd (customer_id, day)")
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE impact_unhappy ON COMMIT DROP AS
            SELECT DISTINCT i.customer_id, {day_sql} AS day
            FROM {interactions} i
            WHERE i.sentiment < 0 AND i.occurred_at >= %s AND i.occurred_at < %s
            """,  # noqa: S608
            [*day_params, since, until],
        )
        cursor.execute("CREATE INDEX ON impact_unhappy (customer_id, day)")
        cursor.execute(
            f"CREATE TEMPORARY TABLE impact_treated ON COMMIT DROP AS SELECT * FROM ({treatments_sql}) t",  # noqa: S608
            treatment_params,
        )
        cursor.execute("CREATE INDEX ON impact_treated (customer_id, day)")
        cursor.execute("ANALYZE impact_vd; ANALYZE impact_unhappy; ANALYZE impact_treated")
        window = _typical_gap(cursor, as_of)
        latest = as_of - datetime.timedelta(days=window)
        features = """
            count(v.day) FILTER (WHERE v.day < x.day) AS days,
            coalesce(sum(v.spend) FILTER (WHERE v.day < x.day), 0) AS spend,
            coalesce(bool_or(v.day > x.day), false) AS returned
        """
        cells = f"""
            {_band_sql("a.days", VISIT_BANDS)} AS visit_band,
            {_band_sql("a.spend", SPEND_BANDS)} AS spend_band,
            {_band_sql("t.tenure", TENURE_BANDS)} AS tenure_band,
            EXISTS (
                SELECT 1 FROM impact_unhappy u
                WHERE u.customer_id = a.customer_id AND u.day >= a.day - {UNHAPPY_DAYS} AND u.day <= a.day
            ) AS unhappy
        """  # noqa: S608
        tenure = f"CROSS JOIN LATERAL (SELECT a.day - {first_day_sql} AS tenure) t"
        # The recipients: every treatment from `start` whose window has ended, as the customer was that day.
        cursor.execute(
            f"""
            WITH x AS (
                SELECT t.customer_id, t.location_id, t.day, t.kind, c.home_location_id
                FROM impact_treated t JOIN {customers} c ON c.id = t.customer_id
                WHERE t.day >= %s AND t.day <= %s
            ), a AS (
                SELECT x.customer_id, x.location_id, x.day, x.kind, x.home_location_id, {features}
                FROM x LEFT JOIN impact_vd v
                    ON v.customer_id = x.customer_id AND v.day >= x.day - {PRIOR_DAYS} AND v.day <= x.day + %s
                GROUP BY 1, 2, 3, 4, 5
            )
            SELECT a.customer_id, a.location_id, a.day, a.kind, a.home_location_id, a.returned, {cells}
            FROM a JOIN {customers} c ON c.id = a.customer_id {tenure}
            ORDER BY a.day, a.customer_id
            """,  # noqa: S608
            [start, latest, window, *first_day_params],
        )
        recipients = cursor.fetchall()
        # The matched groups: for each (home location, day) with a recipient, every customer of that location
        # with a visit day in the 180 days before, no treatment around it, and a first visit before the day.
        pairs = sorted({(row[4], row[2]) for row in recipients})
        groups: dict[tuple, list[int]] = {}
        if pairs:
            cursor.execute(
                f"""
                WITH x AS (
                    SELECT * FROM unnest(%s::bigint[], %s::date[]) AS x(location_id, day)
                ), a AS (
                    SELECT x.location_id, x.day, v.customer_id, {features}
                    FROM x JOIN impact_vd v
                        ON v.location_id = x.location_id AND v.day >= x.day - {PRIOR_DAYS} AND v.day <= x.day + %s
                    GROUP BY 1, 2, 3
                ), m AS (
                    SELECT a.location_id, a.day, a.returned, {cells}
                    FROM a JOIN {customers} c ON c.id = a.customer_id {tenure}
                    WHERE a.days > 0 AND c.first_visit_at IS NOT NULL
                        AND NOT EXISTS (
                            SELECT 1 FROM impact_treated t
                            WHERE t.customer_id = a.customer_id
                                AND t.day >= a.day - {PRIOR_DAYS} AND t.day <= a.day + %s
                        )
                )
                SELECT location_id, day, visit_band, spend_band, tenure_band, unhappy,
                    count(*), count(*) FILTER (WHERE returned)
                FROM m
                GROUP BY 1, 2, 3, 4, 5, 6
                """,  # noqa: S608
                [[p[0] for p in pairs], [p[1] for p in pairs], window, *first_day_params, window],
            )
            groups = {tuple(row[:6]): [row[6], row[7]] for row in cursor.fetchall()}
        # The rules: each pick whose window has ended, and whether they came back.
        cursor.execute(
            f"""
            SELECT r.rule, r.location_id, r.picked_on, r.held_out, count(*),
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM impact_vd v
                    WHERE v.customer_id = r.customer_id AND v.day > r.picked_on AND v.day <= r.picked_on + %s
                ))
            FROM {RuleExposure._meta.db_table} r
            WHERE r.picked_on >= %s AND r.picked_on <= %s
            GROUP BY 1, 2, 3, 4
            """,  # noqa: S608
            [window, start, latest],
        )
        rules = [[rule, location, day.isoformat(), held, n, back] for rule, location, day, held, n, back in cursor]
        cursor.execute(DROP_TEMPORARY)
    rows = []
    for customer_id, location_id, day, kind, home, returned, visit_band, spend_band, tenure_band, unhappy in recipients:
        key = (home, day, visit_band, spend_band, tenure_band, unhappy)
        matched = visit_band >= 0 and tenure_band >= 0
        group_id = "|".join(map(str, key)) if matched else ""
        size, back = groups.get(key, [0, 0]) if matched else [0, 0]
        rows.append([customer_id, location_id, day.isoformat(), kind, int(returned), group_id, size, back])
    return {
        "as_of": as_of.isoformat(),
        "from": start.isoformat(),
        "window_days": window,
        "latest_day": latest.isoformat(),
        "hold_out_percent": holdout.percent(),
        "recipients": rows,
        "rules": rules,
    }


def _typical_gap(cursor, as_of: datetime.date) -> int:
    """The business's typical gap between visit days over the year to `as_of` (7 to 90 days; 90 when unknown)."""
    cursor.execute(
        """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FROM (
            SELECT (max(day) - min(day))::float / (count(*) - 1) AS gap
            FROM impact_vd WHERE day > %s AND day <= %s
            GROUP BY customer_id HAVING count(*) >= 2
        ) g
        """,
        [as_of - datetime.timedelta(days=365), as_of],
    )
    median = cursor.fetchone()[0]
    if median is None:
        return DEFAULT_WINDOW
    return max(MIN_WINDOW, min(MAX_WINDOW, math.ceil(median)))


# --- what the page shows, summed from the stored rows for one range and location ----------------------


def _interval(difference: float, se: float) -> list[float]:
    return [round(100 * (difference - Z95 * se), 1), round(100 * (difference + Z95 * se), 1)]


def matched_effect(rows: list[list]) -> dict:
    """The recipients' return rate against their matched groups', with the 95 % interval (normal approximation).

    `rows` are recipients as compute() stores them: [customer, location, day, kind, returned, group, m, back].
    """
    compared = [row for row in rows if row[5] and row[6] > 0]
    n1 = len(compared)
    served: dict[str, int] = defaultdict(int)
    sizes: dict[str, tuple[int, int]] = {}
    for row in compared:
        served[row[5]] += 1
        sizes[row[5]] = (row[6], row[7])
    controls = sum(m for m, _back in sizes.values())
    result = {
        "recipients": len(rows),
        "compared": n1,
        "not_compared": len(rows) - n1,
        "controls": controls,
        "groups": len(sizes),
        "returned": sum(row[4] for row in compared),
        "rate": None,
        "control_rate": None,
        "difference": None,
        "interval": None,
        "enough": n1 >= MIN_PER_SIDE and controls >= MIN_PER_SIDE,
    }
    if not n1:
        return result
    p1 = result["returned"] / n1
    p0 = sum(sizes[row[5]][1] / sizes[row[5]][0] for row in compared) / n1
    variance = p1 * (1 - p1) / n1 + sum(
        (k / n1) ** 2 * (back / m) * (1 - back / m) / m for group, k in served.items() for m, back in [sizes[group]]
    )
    result |= {"rate": round(100 * p1, 1), "control_rate": round(100 * p0, 1)}
    if result["enough"]:
        result |= {"difference": round(100 * (p1 - p0), 1), "interval": _interval(p1 - p0, math.sqrt(variance))}
    return result


def rule_effect(rows: list[list]) -> dict:
    """The prompted's return rate against the held-out's, with the 95 % interval (normal approximation)."""
    sides = {True: [0, 0], False: [0, 0]}
    for _rule, _location, _day, held, n, back in rows:
        sides[held][0] += n
        sides[held][1] += back
    (n1, r1), (n0, r0) = sides[False], sides[True]
    result = {
        "prompted": n1,
        "prompted_returned": r1,
        "held_out": n0,
        "held_out_returned": r0,
        "rate": round(100 * r1 / n1, 1) if n1 else None,
        "held_out_rate": round(100 * r0 / n0, 1) if n0 else None,
        "difference": None,
        "interval": None,
        "enough": n1 >= MIN_PER_SIDE and n0 >= MIN_PER_SIDE,
    }
    if result["enough"]:
        p1, p0 = r1 / n1, r0 / n0
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        result |= {"difference": round(100 * (p1 - p0), 1), "interval": _interval(p1 - p0, se)}
    return result


def first_per_customer(rows: list[list]) -> list[list]:
    """Each customer's first treatment of the kind in the range: a second gesture is not a second recipient."""
    seen: set[int] = set()
    first = []
    for row in sorted(rows, key=lambda r: (r[2], r[0])):
        if row[0] not in seen:
            seen.add(row[0])
            first.append(row)
    return first


def summary(stored: dict | None, start: datetime.date, end: datetime.date, location_ids: list[int] | None) -> dict:
    """The page's figures for a range and locations, summed from the stored rows (no query)."""
    if not stored:
        return {"ready": False, "min_per_side": MIN_PER_SIDE, "hold_out_percent": holdout.percent()}
    first, last = start.isoformat(), min(end.isoformat(), stored["latest_day"])

    def keep(location: int, day: str) -> bool:
        return first <= day <= last and (location_ids is None or location in location_ids)

    by_kind: dict[str, list[list]] = defaultdict(list)
    for row in stored["recipients"]:
        if keep(row[1], row[2]):
            by_kind[row[3]].append(row)
    kinds = [
        {"kind": kind, "title": title, **matched_effect(first_per_customer(by_kind.get(kind, [])))}
        for kind, title in KIND_TITLES.items()
    ]
    by_rule: dict[str, list[list]] = defaultdict(list)
    for row in stored["rules"]:
        if keep(row[1], row[2]):
            by_rule[row[0]].append(row)
    rules = [
        {"rule": rule, "title": title, **rule_effect(by_rule.get(rule, []))} for rule, title in RULE_TITLES.items()
    ]
    return {
        "ready": True,
        "computed_at": datetime.datetime.fromisoformat(stored["computed_at"]) if stored.get("computed_at") else None,
        "window_days": stored["window_days"],
        "latest_day": datetime.date.fromisoformat(stored["latest_day"]),
        "from": first,
        "min_per_side": MIN_PER_SIDE,
        "hold_out_percent": stored["hold_out_percent"],
        "kinds": kinds,
        "rules": rules,
    }
