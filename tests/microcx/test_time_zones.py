"""Budgets, renewals, months and caps run on each location's own calendar, not the business's (New York).

Each case puts the clock a minute before and a minute after the location's own midnight at the turn of a month,
at month boundaries beside a daylight-saving change; at one of the two moments New York's date differs from
the location's, so a rule that used the business's day would fail it.
"""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from microcx import services, tasks
from microcx.models import Budget, Gesture
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres
UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


CASES = [
    # Auckland (NZDT, UTC+13): 1 April 00:00 is 31 March 11:00 UTC; NZ daylight saving ends on 5 April 2026.
    pytest.param("Pacific/Auckland", at(2026, 3, 31, 10, 59), at(2026, 3, 31, 11, 1), id="auckland-april"),
    # Auckland, days after daylight saving began (27 September): 1 October 00:00 is 30 September 11:00 UTC.
    pytest.param("Pacific/Auckland", at(2026, 9, 30, 10, 59), at(2026, 9, 30, 11, 1), id="auckland-october-dst"),
    # Los Angeles (PDT, UTC-7): 1 November 00:00 is 07:00 UTC, and daylight saving ends two hours later that night.
    pytest.param("America/Los_Angeles", at(2026, 11, 1, 6, 59), at(2026, 11, 1, 7, 1), id="los-angeles-november-dst"),
    # Los Angeles (PST, UTC-8): 1 March 00:00 is 08:00 UTC; daylight saving begins on 8 March.
    pytest.param("America/Los_Angeles", at(2026, 3, 1, 7, 59), at(2026, 3, 1, 8, 1), id="los-angeles-march"),
]


def propose(user, customer, location, amount="20"):
    gesture, _ = services.gesture_propose(
        customer=customer,
        proposer=user,
        location=location,
        category="gift_card",
        description=f"Gift card {uuid.uuid4().hex[:6]}",
        amount=Decimal(amount),
        idempotency_key=uuid.uuid4(),
        confirmed_genuine=True,
    )
    return gesture


@pytest.mark.parametrize(("zone", "last_minute", "first_minute"), CASES)
def test_budgets_renewals_and_caps_follow_the_locations_own_month(time_at, zone, last_minute, first_minute):
    shop = LocationFactory(name=f"Shop in {zone}", timezone=zone)
    fran = UserFactory(role="frontline", locations=[shop])
    customer = CustomerFactory(home_location=shop)

    time_at(last_minute)
    local = last_minute.astimezone(shop.tzinfo)
    business_day = timezone.localdate()
    this_month = local.date().replace(day=1)
    next_month = (this_month + datetime.timedelta(days=32)).replace(day=1)
    assert shop.local_today() == local.date() and local.date() + datetime.timedelta(days=1) == next_month
    budget = services.budget_create(
        location=shop, period="month", day=shop.local_today(), amount=Decimal("500"), by=None, renews=True
    )
    assert (budget.starts_on, budget.ends_on) == (this_month, local.date())
    for _ in range(5):
        assert propose(fran, customer, shop).status == Gesture.Status.APPROVED  # $100: the frontline cap
    over = propose(fran, customer, shop)
    assert over.status == Gesture.Status.PENDING and over.month == this_month
    assert "has left: $0.00 of their $100.00 this month" in over.approval_reason
    assert tasks.renew_budgets() == 0  # the month has not ended here yet
    assert services.budget_for(shop) == budget

    time_at(first_minute)
    assert shop.local_today() == next_month
    assert business_day != local.date() or timezone.localdate() != shop.local_today(), (
        "this case would not tell the location's calendar from the business's"
    )
    assert tasks.renew_budgets() == 1
    assert tasks.renew_budgets() == 0  # once
    renewed = services.budget_for(shop)
    assert (renewed.starts_on, renewed.period) == (next_month, "month")
    fresh = propose(fran, customer, shop)
    assert fresh.status == Gesture.Status.APPROVED  # a new month here: the cap starts again
    assert (fresh.month, fresh.budget) == (next_month, renewed)
    assert services.month_spend(fran, this_month) == Decimal("100")
    assert services.month_spend(fran, next_month) == Decimal("20")


def test_the_turn_of_the_month_in_new_york_renews_nothing_in_los_angeles(time_at):
    """New York's midnight on 1 November (04:00 UTC) is still 31 October, 21:00, in Los Angeles."""
    shop = LocationFactory(name="Venice Beach", timezone="America/Los_Angeles")
    time_at(at(2026, 10, 15, 12, 0))
    october = services.budget_create(
        location=shop, period="month", day=shop.local_today(), amount=Decimal("100"), by=None, renews=True
    )
    time_at(at(2026, 11, 1, 4, 30))
    assert timezone.localdate() == datetime.date(2026, 11, 1)
    assert tasks.renew_budgets() == 0
    assert services.budget_for(shop) == october
    assert not Budget.objects.filter(starts_on=datetime.date(2026, 11, 1)).exists()


def test_a_gesture_in_the_repeated_hour_of_the_dst_change_counts_in_its_local_month(time_at):
    """On 1 November 2026 Los Angeles lives 01:00-02:00 twice; both are 1 November, in November's cap."""
    shop = LocationFactory(name="Silver Lake", timezone="America/Los_Angeles")
    fran = UserFactory(role="frontline", locations=[shop])
    customer = CustomerFactory(home_location=shop)
    time_at(at(2026, 11, 1, 8, 30))  # 01:30 PDT
    services.budget_create(location=shop, period="month", day=shop.local_today(), amount=Decimal("100"), by=None)
    first = propose(fran, customer, shop, "25")
    time_at(at(2026, 11, 1, 9, 30))  # 01:30 PST, an hour later
    second = propose(fran, customer, shop, "25")
    assert first.month == second.month == datetime.date(2026, 11, 1)
    assert services.month_spend(fran, datetime.date(2026, 11, 1)) == Decimal("50")
