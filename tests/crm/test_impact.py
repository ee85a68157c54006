"""Did the gestures and the rules help? The matched comparison and the hold-outs, checked by hand.

A synthetic business: every customer first came on 10 February 2026 and again on 20 February (two visit
days, no spend, three weeks a customer on 2 March), so they all fall in one matched group; the gestures
are delivered on 2 March and "came back" means a visit day on 7 March (inside the shortest window, 7 days).
"""

import datetime
import math
import zoneinfo

import pytest
from django.urls import reverse

from crm.inbox import reminders
from crm.inbox.models import Notification
from crm.insights import impact, loyalty, tasks
from crm.kernel import holdout
from crm.kernel.models import Snapshot
from customers.models import Customer, ImportantDate, RuleExposure
from customers.services import important_date_save
from journeys.models import Interaction, Touchpoint
from microcx.models import Budget, Gesture
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres
NY = zoneinfo.ZoneInfo("America/New_York")
TODAY = datetime.date(2026, 6, 30)
START = datetime.date(2025, 7, 1)
GESTURE_DAY = datetime.date(2026, 3, 2)
FIRST, SECOND, BACK = datetime.date(2026, 2, 10), datetime.date(2026, 2, 20), datetime.date(2026, 3, 7)
Z = 1.959964


@pytest.fixture
def today(time_at):
    time_at(datetime.datetime(2026, 6, 30, 16, tzinfo=datetime.UTC))


def noon(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=NY)


class Shop:
    """Customers made in bulk with the visits, unhappy moments and gestures the story needs."""

    def __init__(self, location, staff):
        self.location, self.staff = location, staff
        self.touchpoint = Touchpoint.objects.first()
        self.budget = Budget.objects.create(
            location=location, period="monthly", starts_on=datetime.date(2026, 3, 1), ends_on=datetime.date(2026, 3, 31)
        )

    def customers(self, n: int, *, back: int, gesture: str | None = None, unhappy: bool = False) -> list[Customer]:
        """n customers with the two visit days before 2 March; the first `back` of them came back on 7 March."""
        people = [CustomerFactory(home_location=self.location) for _ in range(n)]
        Customer.objects.filter(pk__in=[c.pk for c in people]).update(first_visit_at=noon(FIRST))
        rows = []
        for index, customer in enumerate(people):
            days = [FIRST, SECOND] + ([BACK] if index < back else [])
            rows += [self._interaction(customer, day, "visit") for day in days]
            if unhappy:
                rows.append(self._interaction(customer, GESTURE_DAY - datetime.timedelta(days=1), "conversation", -1))
        Interaction.objects.bulk_create(rows)
        if gesture is not None:
            Gesture.objects.bulk_create(
                Gesture(
                    customer=customer,
                    location=self.location,
                    budget=self.budget,
                    proposed_by=self.staff,
                    category="card",
                    description="A card",
                    amount=0,
                    status=Gesture.Status.DELIVERED,
                    occasion=gesture,
                    month=datetime.date(2026, 3, 1),
                    delivered_on=GESTURE_DAY,
                )
                for customer in people
            )
        return people

    def _interaction(self, customer, day, kind, sentiment=0):
        return Interaction(
            customer=customer,
            touchpoint=self.touchpoint,
            location=self.location,
            kind=kind,
            occurred_at=noon(day),
            sentiment=sentiment,
        )


@pytest.fixture
def shop(today, location, frontline):
    return Shop(location, frontline)


def effect(kind: str, start=START, end=TODAY, location_ids=None) -> dict:
    stored = {**impact.compute(TODAY, START), "computed_at": "2026-06-30T16:00:00+00:00"}
    return next(k for k in impact.summary(stored, start, end, location_ids)["kinds"] if k["kind"] == kind)


def interval(p1, n1, p0, m) -> list[float]:
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / m)
    return [round(100 * (p1 - p0 - Z * se), 1), round(100 * (p1 - p0 + Z * se), 1)]


def test_a_planted_effect_is_found_with_its_interval(shop):
    shop.customers(40, back=30, gesture="delight")  # 75 % came back after a gesture
    shop.customers(100, back=30)  # 30 % of the same kind of customer who got nothing
    delight = effect("delight")
    assert (delight["compared"], delight["controls"], delight["returned"]) == (40, 100, 30)
    assert (delight["rate"], delight["control_rate"], delight["difference"]) == (75.0, 30.0, 45.0)
    # one matched group serving all 40: se = sqrt(.75 * .25 / 40 + (40/40)^2 * .3 * .7 / 100)
    assert delight["interval"] == interval(0.75, 40, 0.30, 100) == [28.9, 61.1]
    assert delight["enough"]


def test_no_effect_gives_an_interval_that_covers_zero(shop):
    shop.customers(40, back=12, gesture="delight")  # 30 %
    shop.customers(100, back=30)  # 30 %
    delight = effect("delight")
    assert delight["difference"] == 0.0
    low, high = delight["interval"]
    assert low < 0 < high
    assert delight["interval"] == interval(0.3, 40, 0.3, 100) == [-16.8, 16.8]


def test_recovery_gestures_are_compared_with_unhappy_customers_and_shown_apart(shop):
    shop.customers(40, back=30, gesture="delight")
    shop.customers(100, back=30)
    # Not said by staff, but unhappy the day before: a recovery, compared only with the unhappy who got nothing.
    shop.customers(20, back=10, gesture="", unhappy=True)
    shop.customers(25, back=5, unhappy=True)
    recovery, delight = effect("recovery"), effect("delight")
    assert (recovery["compared"], recovery["controls"], recovery["rate"], recovery["control_rate"]) == (20, 25, 50, 20)
    assert recovery["difference"] == 30.0 and recovery["interval"] == interval(0.5, 20, 0.2, 25)
    assert (delight["compared"], delight["controls"], delight["difference"]) == (40, 100, 45.0)


def test_below_the_minimum_on_a_side_it_says_not_enough_data_yet(shop, client, owner):
    shop.customers(5, back=4, gesture="delight")
    shop.customers(100, back=30)
    delight = effect("delight")
    assert (delight["compared"], delight["controls"], delight["enough"]) == (5, 100, False)
    assert delight["difference"] is None and delight["interval"] is None
    assert impact.MIN_PER_SIDE == 20
    loyalty.refresh_snapshots()
    loyalty.refresh_impact()
    client.force_login(owner)
    page = client.get(reverse("loyalty-dashboard"), {"from": "2026-01-01", "to": "2026-06-30"}).content.decode()
    assert "Not enough data yet: 5 recipients and 100 look-alikes to compare" in page
    assert "from 20 on each side" in page


def test_a_customer_with_any_treatment_around_the_day_is_nobodys_control(shop):
    shop.customers(40, back=30, gesture="delight")
    controls = shop.customers(100, back=30)
    # Ten of the 70 who did not come back got a gesture on 5 March, inside the return window: not "got nothing".
    Gesture.objects.bulk_create(
        Gesture(
            customer=c,
            location=shop.location,
            budget=shop.budget,
            proposed_by=shop.staff,
            category="card",
            description="A card",
            amount=0,
            status=Gesture.Status.DELIVERED,
            occasion="delight",
            month=datetime.date(2026, 3, 1),
            delivered_on=GESTURE_DAY + datetime.timedelta(days=3),
        )
        for c in controls[-10:]
    )
    delight = effect("delight", end=GESTURE_DAY)
    assert (delight["compared"], delight["controls"]) == (40, 90)
    assert delight["control_rate"] == round(100 * 30 / 90, 1)


def test_the_window_is_the_business_s_typical_gap_between_visit_days(shop):
    shop.customers(30, back=0, gesture="delight")  # every customer: 10 days between their two visit days
    assert impact.compute(TODAY, START)["window_days"] == 10
    Interaction.objects.all().delete()
    assert impact.compute(TODAY, START)["window_days"] == 90  # nobody with two visit days: 90 days


# --- the hold-out ------------------------------------------------------------------------------------


def test_the_hold_out_is_stable_about_ten_percent_and_differs_by_rule(settings):
    settings.HOLD_OUT_PERCENT = 10
    held = [pk for pk in range(1, 20001) if holdout.held_out("birthday", pk)]
    assert 0.09 < len(held) / 20000 < 0.11
    assert held == [pk for pk in range(1, 20001) if holdout.held_out("birthday", pk)]  # the same every time
    assert held != [pk for pk in range(1, 20001) if holdout.held_out("win_back", pk)]
    assert holdout.bucket("birthday", 42) == holdout.bucket("birthday", 42)
    settings.HOLD_OUT_PERCENT = 0
    assert not any(holdout.held_out("birthday", pk) for pk in range(1, 2001))


def test_held_out_customers_get_no_birthday_prompt_and_the_pick_is_recorded_once(settings, time_at, frontline):
    settings.HOLD_OUT_PERCENT = 10
    time_at(datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.UTC))
    people = [CustomerFactory(home_location=frontline.locations.get()) for _ in range(60)]
    for customer in people:
        important_date_save(
            important_date=ImportantDate(customer=customer, kind="birthday", month=11, day=27, lead_days=3)
        )
    reminders.sweep()
    reminders.sweep()
    held = {c.pk for c in people if holdout.held_out("birthday", c.pk)}
    assert held and len(held) < 60
    prompted = set(
        Notification.objects.filter(kind=Notification.Kind.IMPORTANT_DATE).values_list("customer_id", flat=True)
    )
    assert prompted == {c.pk for c in people} - held
    exposures = RuleExposure.objects.filter(rule="birthday")
    assert exposures.count() == 60  # every pick once, both sides, even after two sweeps
    assert set(exposures.filter(held_out=True).values_list("customer_id", flat=True)) == held
    assert set(exposures.values_list("occasion", flat=True)) == {datetime.date(2026, 11, 27)}


def test_the_win_back_hold_out_is_left_off_the_list_and_recorded(settings, shop):
    settings.HOLD_OUT_PERCENT = 10
    # Three visit days, the last on 7 March, none since: on the win-back list on 30 June.
    people = shop.customers(60, back=60)
    filters = loyalty.Filters(START, TODAY, win_back=loyalty.WinBack())
    members = loyalty.action_members(filters)
    held = {c.pk for c in people if holdout.held_out("win_back", c.pk)}
    assert {h.customer_id for h in members["win_back"]} == {c.pk for c in people} - held
    assert {h.customer_id for h in members[loyalty.HELD_OUT]} == held
    loyalty.refresh_snapshots()
    loyalty.refresh_snapshots()
    rows = RuleExposure.objects.filter(rule="win_back")
    assert rows.count() == 60 and set(rows.filter(held_out=True).values_list("customer_id", flat=True)) == held
    assert set(rows.values_list("occasion", flat=True)) == {BACK}
    lists = loyalty.compute(filters)["lists"]
    assert lists["win_back"]["count"] == 60 - len(held) and lists["win_back"]["held_out"] == len(held)


def test_the_rule_is_measured_against_its_hold_out(shop):
    picked = datetime.date(2026, 3, 2)
    prompted = shop.customers(30, back=15)  # 50 % came back
    held = shop.customers(20, back=4)  # 20 %
    RuleExposure.objects.bulk_create(
        RuleExposure(
            rule="birthday", customer=c, location=shop.location, occasion=picked, picked_on=picked, held_out=side
        )
        for group, side in ((prompted, False), (held, True))
        for c in group
    )
    stored = {**impact.compute(TODAY, START), "computed_at": "2026-06-30T16:00:00+00:00"}
    birthday = next(r for r in impact.summary(stored, START, TODAY, None)["rules"] if r["rule"] == "birthday")
    assert (
        birthday["prompted"],
        birthday["prompted_returned"],
        birthday["held_out"],
        birthday["held_out_returned"],
    ) == (
        30,
        15,
        20,
        4,
    )
    assert (birthday["rate"], birthday["held_out_rate"], birthday["difference"]) == (50.0, 20.0, 30.0)
    assert birthday["interval"] == interval(0.5, 30, 0.2, 20) == [5.0, 55.0]


# --- the page ------------------------------------------------------------------------------------------


def test_the_dashboard_reads_the_comparison_from_the_snapshot_in_constant_queries(
    shop, client, owner, django_assert_max_num_queries
):
    shop.customers(40, back=30, gesture="delight")
    shop.customers(100, back=30)
    client.force_login(owner)
    params = {"from": "2026-01-01", "to": "2026-06-30"}
    page = client.get(reverse("loyalty-dashboard"), params).content.decode()
    assert "Not worked out yet" in page  # the request never computes it
    assert tasks.refresh_impact_snapshot() == 40  # the task: 40 recipients compared
    assert Snapshot.objects.filter(key=loyalty.IMPACT_KEY).exists()
    client.get(reverse("loyalty-dashboard"), params)
    # as before (16: snapshot, rule, session, user, badges, reader details), plus the one impact snapshot
    with django_assert_max_num_queries(17):
        response = client.get(reverse("loyalty-dashboard"), params)
    page = response.content.decode()
    assert "+45.0 points" in page and "95 % interval 28.9 to 61.1" in page
    assert "How this is worked out" in page and "leave out <strong>0 %</strong>" in page
    assert "0 % of customers are held out of this list to measure it" in page  # beside the win-back rule
    assert response.context["impact"]["kinds"][1]["compared"] == 40


def test_the_report_prints_the_comparison_the_task_computed(shop, capsys):
    from django.core.management import call_command

    shop.customers(40, back=30, gesture="delight")
    shop.customers(100, back=30)
    loyalty.refresh_impact()
    call_command("loyalty_report", "--from", "2026-01-01", "--to", "2026-06-30")
    out = capsys.readouterr().out
    assert "Delight gestures: 40 recipients compared, 100 look-alikes without; +45.0 points" in out


def test_beat_runs_the_impact_task_every_15_minutes():
    from crm.celery import app, schedule_sweeps

    schedule_sweeps(app)
    task = "crm.insights.tasks.refresh_impact_snapshot"
    assert app.conf.beat_schedule["loyalty-impact"] == {"task": task, "schedule": 900.0}
    assert tasks.refresh_impact_snapshot.name == task and task in app.tasks


def test_two_matched_groups_weigh_by_the_recipients_they_serve():
    # Group A: 40 look-alikes, 20 came back (50 %), for 10 recipients, 8 came back.
    # Group B: 50 look-alikes, 10 came back (20 %), for 10 recipients, 4 came back.
    # p1 = 12/20 = 60 %, p0 = (10 x 50 % + 10 x 20 %) / 20 = 35 %, difference 25 points;
    # se = sqrt(.6 x .4 / 20 + (10/20)^2 x .5 x .5 / 40 + (10/20)^2 x .2 x .8 / 50) = 0.11984
    rows = [[pk, 1, "2026-03-02", "delight", int(pk < 8), "A", 40, 20] for pk in range(10)]
    rows += [[pk, 1, "2026-03-02", "delight", int(pk < 14), "B", 50, 10] for pk in range(10, 20)]
    # a second gesture to a recipient later is not a second recipient; an unmatched one is counted apart
    rows += [[0, 1, "2026-04-01", "delight", 0, "A", 40, 20], [99, 1, "2026-03-03", "delight", 1, "", 0, 0]]
    e = impact.matched_effect(impact.first_per_customer(rows))
    assert (e["compared"], e["not_compared"], e["controls"], e["groups"]) == (20, 1, 90, 2)
    assert (e["rate"], e["control_rate"], e["difference"]) == (60.0, 35.0, 25.0)
    assert e["interval"] == [1.5, 48.5]


def test_locations_in_other_time_zones_are_matched_on_their_own_local_days(today, frontline):
    from tests.crm.factories import LocationFactory

    london = LocationFactory(name="London", timezone="Europe/London")
    ny = Shop(frontline.locations.get(), frontline)
    uk = Shop(london, frontline)
    ny.customers(20, back=10, gesture="delight")
    ny.customers(20, back=5)
    uk.customers(20, back=20, gesture="delight")
    uk.customers(20, back=0)
    both = effect("delight")
    assert (both["compared"], both["controls"], both["returned"]) == (40, 40, 30)
    # each recipient against its own location's look-alikes: (20 x 25 % + 20 x 0 %) / 40
    assert both["control_rate"] == 12.5
    assert effect("delight", location_ids=[london.pk])["rate"] == 100.0
