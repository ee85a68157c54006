"""When each reminder falls due: pure date logic, kept on the rows as next-due dates.

The reminder sweeps read rows whose next-due date has come (through an index)
and advance it after raising, so each occurrence is raised exactly once and a
sweep's work grows with what is due, not with the size of the tables.
"""

from __future__ import annotations

import calendar
import datetime

CUSTOMER_SINCE_MILESTONES = (1, 2, 5, 10)
# Older occurrences found after a long outage are skipped rather than raised weeks late.
CATCH_UP_DAYS = 30


def occurrence_in(month: int, day: int, year: int) -> datetime.date:
    """Return the day a yearly date falls on in `year`; 29 February falls on 28 February in other years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return datetime.date(year, 2, 28)
    return datetime.date(year, month, day)


def next_occurrence(month: int, day: int, on_or_after: datetime.date) -> datetime.date:
    this_year = occurrence_in(month, day, on_or_after.year)
    return this_year if this_year >= on_or_after else occurrence_in(month, day, on_or_after.year + 1)


def date_prompt(month: int, day: int, lead_days: int, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Return (occurrence, prompt day) for the next occurrence not yet past.

    Inside the lead window the prompt day is already past, so the next sweep raises it.
    """
    occurrence = next_occurrence(month, day, today)
    return occurrence, occurrence - datetime.timedelta(days=lead_days)


def following_occurrence(
    month: int, day: int, lead_days: int, fired: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """Return (occurrence, prompt day) of the year after an occurrence that was raised."""
    occurrence = occurrence_in(month, day, fired.year + 1)
    return occurrence, occurrence - datetime.timedelta(days=lead_days)


def customer_anniversary(since: datetime.date | None, on_or_after: datetime.date) -> tuple[datetime.date, int] | None:
    """Return the next (date, years) milestone of being a customer, on or after the given day, or None."""
    if since is None:
        return None
    for years in CUSTOMER_SINCE_MILESTONES:
        anniversary = occurrence_in(since.month, since.day, since.year + years)
        if anniversary >= on_or_after:
            return anniversary, years
    return None


def keep_in_touch_due(last_contact: datetime.date | None, cadence_days: int | None) -> datetime.date | None:
    """Return the day a customer becomes due for a touch, or None without a cadence."""
    if not cadence_days or last_contact is None:
        return None
    return last_contact + datetime.timedelta(days=cadence_days)


def raise_due(
    month: int, day: int, lead_days: int, next_occurrence_on: datetime.date, today: datetime.date
) -> tuple[list[datetime.date], datetime.date, datetime.date]:
    """Return (occurrences to raise today, next occurrence, next prompt day) for a date whose prompt day came.

    Every occurrence whose prompt day has come is passed; those older than the
    catch-up window (a long outage) are passed without being raised.
    """
    to_raise = []
    occurrence = next_occurrence_on
    prompt_on = occurrence - datetime.timedelta(days=lead_days)
    while prompt_on <= today:
        if occurrence >= today - datetime.timedelta(days=CATCH_UP_DAYS):
            to_raise.append(occurrence)
        occurrence, prompt_on = following_occurrence(month, day, lead_days, occurrence)
    return to_raise, occurrence, prompt_on
