"""Rollups of interactions, kept current in the same transaction as every insert.

CustomerJourneyStat (customer x touchpoint x stage) feeds a persona's observed
journey; TouchpointMonth (touchpoint x location x stage x month) feeds trends
and the loyalty dashboard. Both are upserts that add to what is there.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connection as default_connection
from django.utils import timezone

from crm.kernel.bulk import copy_into_temp

CHUNK = 500

STAT_SQL = """
INSERT INTO journeys_customerjourneystat
    (customer_id, touchpoint_id, stage, interactions, sentiment_sum, first_at, last_at)
VALUES {values}
ON CONFLICT (customer_id, touchpoint_id, stage) DO UPDATE SET
    interactions = journeys_customerjourneystat.interactions + excluded.interactions,
    sentiment_sum = journeys_customerjourneystat.sentiment_sum + excluded.sentiment_sum,
    first_at = CASE WHEN excluded.first_at < journeys_customerjourneystat.first_at
               THEN excluded.first_at ELSE journeys_customerjourneystat.first_at END,
    last_at = CASE WHEN excluded.last_at > journeys_customerjourneystat.last_at
              THEN excluded.last_at ELSE journeys_customerjourneystat.last_at END
"""
MONTH_SQL = """
INSERT INTO journeys_touchpointmonth (touchpoint_id, location_id, stage, month, interactions, sentiment_sum)
VALUES {values}
ON CONFLICT (touchpoint_id, location_id, stage, month) DO UPDATE SET
    interactions = journeys_touchpointmonth.interactions + excluded.interactions,
    sentiment_sum = journeys_touchpointmonth.sentiment_sum + excluded.sentiment_sum
"""


def _month(at: datetime.datetime) -> datetime.date:
    """The month in the business's own time zone."""
    return timezone.localtime(at).date().replace(day=1)


def add(rows: Iterable[tuple], connection=None) -> None:
    """Add interactions to the rollups: rows of (customer_id, touchpoint_id, location_id, stage, sentiment, at)."""
    sums = Sums()
    sums.add(rows)
    sums.save(connection)


class Sums:
    """Rollup increments summed as interactions come (an import's batches), then saved in one upsert each."""

    def __init__(self) -> None:
        self.stats: dict[tuple, list] = {}
        self.months: dict[tuple, list] = defaultdict(lambda: [0, 0])

    def add(self, rows: Iterable[tuple]) -> None:
        """Rows of (customer_id, touchpoint_id, location_id, stage, sentiment, at)."""
        stats, months = self.stats, self.months
        zone = timezone.get_current_timezone()  # _month's, looked up once for the rows
        for customer_id, touchpoint_id, location_id, stage, sentiment, at in rows:
            key = (customer_id, touchpoint_id, stage)
            stat = stats.get(key)
            if stat is not None:
                stat[0] += 1
                stat[1] += sentiment
                if at < stat[2]:
                    stat[2] = at
                if at > stat[3]:
                    stat[3] = at
            else:
                stats[key] = [1, sentiment, at, at]
            month = months[(touchpoint_id, location_id, stage, at.astimezone(zone).date().replace(day=1))]
            month[0] += 1
            month[1] += sentiment

    def save(self, connection=None) -> None:
        connection = connection or default_connection
        ops = connection.ops
        stat_rows = [
            (*key, count, sentiment, ops.adapt_datetimefield_value(first), ops.adapt_datetimefield_value(last))
            for key, (count, sentiment, first, last) in self.stats.items()
        ]
        month_rows = [
            (touchpoint, location, stage, ops.adapt_datefield_value(month), count, sentiment)
            for (touchpoint, location, stage, month), (count, sentiment) in self.months.items()
        ]
        self.__init__()
        if len(stat_rows) > CHUNK:
            _upsert_by_copy(connection, stat_rows, month_rows)
            return
        _upsert(connection, STAT_SQL, stat_rows, 7)
        _upsert(connection, MONTH_SQL, month_rows, 6)


def _upsert(connection, sql: str, rows: list[tuple], width: int) -> None:
    placeholders = "(" + ", ".join(["%s"] * width) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            values = ", ".join([placeholders] * len(chunk))
            cursor.execute(sql.format(values=values), [value for row in chunk for value in row])


def _upsert_by_copy(connection, stat_rows: list[tuple], month_rows: list[tuple]) -> None:
    """Large batches (imports): COPY into temporary tables, then one upsert each."""
    with connection.cursor() as cursor:
        copy_into_temp(
            cursor,
            "rollup_stat_in",
            "customer_id bigint, touchpoint_id bigint, stage varchar(10), "
            "interactions integer, sentiment_sum integer, first_at timestamptz, last_at timestamptz",
            stat_rows,
        )
        cursor.execute(STAT_SQL.replace("VALUES {values}", "SELECT * FROM rollup_stat_in"))
        copy_into_temp(
            cursor,
            "rollup_month_in",
            "touchpoint_id bigint, location_id bigint, stage varchar(10), month date, "
            "interactions integer, sentiment_sum integer",
            month_rows,
        )
        cursor.execute(MONTH_SQL.replace("VALUES {values}", "SELECT * FROM rollup_month_in"))


def rebuild(connection=None) -> None:
    """Recompute both rollups from every interaction (after a migration, or to repair)."""
    from journeys.models import CustomerJourneyStat, TouchpointMonth

    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CustomerJourneyStat._meta.db_table}")  # noqa: S608 - our own table
        cursor.execute(f"DELETE FROM {TouchpointMonth._meta.db_table}")  # noqa: S608 - our own table
    _rebuild_in_sql(connection)


def _rebuild_in_sql(connection) -> None:
    """The same rollups computed by PostgreSQL in two statements (seconds for millions of rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journeys_customerjourneystat
                (customer_id, touchpoint_id, stage, interactions, sentiment_sum, first_at, last_at)
            SELECT customer_id, touchpoint_id, stage, count(*), sum(sentiment), min(occurred_at), max(occurred_at)
            FROM journeys_interaction GROUP BY customer_id, touchpoint_id, stage
            """
        )
        cursor.execute(
            """
            INSERT INTO journeys_touchpointmonth
                (touchpoint_id, location_id, stage, month, interactions, sentiment_sum)
            SELECT touchpoint_id, location_id, stage, date_trunc('month', occurred_at AT TIME ZONE %s)::date,
                   count(*), sum(sentiment)
            FROM journeys_interaction GROUP BY 1, 2, 3, 4
            """,
            [settings.TIME_ZONE],
        )
