"""Date logic of the reminders: leap years, lead times across month and year ends, and the
property that daily sweeps raise each occurrence exactly once, even with outages."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from customers import schedule


def test_29_february_falls_on_28_february_in_other_years():
    assert schedule.occurrence_in(2, 29, 2027) == datetime.date(2027, 2, 28)
    assert schedule.occurrence_in(2, 29, 2028) == datetime.date(2028, 2, 29)


def test_lead_time_crosses_the_year_end():
    occurrence, prompt_on = schedule.date_prompt(1, 2, 5, datetime.date(2026, 12, 20))
    assert (occurrence, prompt_on) == (datetime.date(2027, 1, 2), datetime.date(2026, 12, 28))


def test_lead_time_crosses_a_month_end():
    assert schedule.date_prompt(3, 1, 3, datetime.date(2027, 2, 1))[1] == datetime.date(2027, 2, 26)
    assert schedule.date_prompt(3, 1, 3, datetime.date(2028, 2, 1))[1] == datetime.date(2028, 2, 27)


def test_customer_since_milestones():
    since = datetime.date(2020, 2, 29)
    assert schedule.customer_anniversary(since, datetime.date(2020, 3, 1)) == (datetime.date(2021, 2, 28), 1)
    assert schedule.customer_anniversary(since, datetime.date(2022, 3, 1)) == (datetime.date(2025, 2, 28), 5)
    assert schedule.customer_anniversary(since, datetime.date(2030, 3, 1)) is None


days = st.integers(min_value=0, max_value=800)


@settings(max_examples=300, deadline=None)
@given(
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    lead=st.integers(0, 60),
    start=st.dates(min_value=datetime.date(2024, 1, 1), max_value=datetime.date(2030, 12, 31)),
    outages=st.sets(days, max_size=40),
)
def test_daily_sweeps_raise_each_occurrence_exactly_once(month, day, lead, start, outages):
    if day > [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]:
        return
    occurrence, prompt_on = schedule.date_prompt(month, day, lead, start)
    raised: list[tuple[datetime.date, datetime.date]] = []
    end = start + datetime.timedelta(days=400)
    today = start
    while today <= end:
        swept = (today - start).days not in outages
        if swept and prompt_on <= today:
            found, occurrence, prompt_on = schedule.raise_due(month, day, lead, occurrence, today)
            raised += [(o, today) for o in found]
        today += datetime.timedelta(days=1)
    occurrences = [o for o, _ in raised]
    assert len(occurrences) == len(set(occurrences)), "an occurrence was raised twice"
    swept_days = [start + datetime.timedelta(days=d) for d in range(401) if d not in outages]
    year = start.year
    while (o := schedule.occurrence_in(month, day, year)) - datetime.timedelta(days=lead) <= end:
        year += 1
        if o < start:
            continue
        window_opens = max(start, o - datetime.timedelta(days=lead))
        first_sweep = next((d for d in swept_days if d >= window_opens), None)
        if first_sweep is None:
            assert o not in occurrences
        elif first_sweep <= o + datetime.timedelta(days=schedule.CATCH_UP_DAYS):
            # raised once, by the first sweep after its prompt day (late only after an outage)
            assert (o, first_sweep) in raised, f"{o} not raised on {first_sweep}: {raised}"
        else:
            assert o not in occurrences, "raised long after a very long outage"
