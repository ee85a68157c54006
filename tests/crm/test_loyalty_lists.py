"""The lists to act on and the visit-day figures, worked out by hand on small histories.

Every list is judged as of the end of the chosen range (never today), on distinct location-local
visit days (several purchases on one day are one visit day).
"""

import datetime
import io
import zoneinfo
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm.insights import loyalty
from crm.insights.models import LoyaltyRule
from crm.kernel import roles
from crm.kernel.models import User
from customers.access import PRIVATE_FOLLOW_UP, PRIVATE_NOTE
from customers.services import follow_up_create, note_create
from journeys.models import Touchpoint
from journeys.services import interaction_record
from microcx import services as microcx
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.microcx.factories import propose_gesture

pytestmark = pytest.mark.postgres
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TODAY = datetime.datetime(2026, 11, 20, 15, tzinfo=datetime.UTC)
# The win-back rule's default, as of 31 March 2026: at least 3 visit days from 1 Oct 2025 to
# 31 Mar 2026 (six months) and none from 18 Feb 2026 on (the last six weeks).
AS_OF = datetime.date(2026, 3, 31)
RANGE = (datetime.date(2025, 10, 1), AS_OF)


def at(y, m, d, hour=12, tz=NEW_YORK):
    return datetime.datetime(y, m, d, hour, tzinfo=tz)


@pytest.fixture
def visit(time_at, location, frontline):
    """visit(customer, moment, kind=..., where=...): record it through the service staff use."""
    touchpoint = Touchpoint.objects.get(slug="in-store")

    def record(customer, moment, kind="visit", where=None, amount=None):
        time_at(moment)
        interaction_record(
            customer=customer,
            touchpoint=touchpoint,
            location=where or location,
            staff=frontline,
            kind=kind,
            occurred_at=moment,
            amount=amount,
        )
        time_at(TODAY)

    return record


def names(figures: dict, key: str) -> list[str]:
    return [c["name"].split()[0] for c in figures["lists"][key]["customers"]]


def test_several_purchases_on_one_day_are_one_visit_day(visit, location):
    hal = CustomerFactory(first_name="Hal", home_location=location)
    for hour in (10, 11, 15):  # three purchases on 2 March
        visit(hal, at(2026, 3, 2, hour), kind="purchase", amount=Decimal("10.00"))
    visit(hal, at(2026, 3, 20))
    h = loyalty.compute(loyalty.Filters(datetime.date(2026, 3, 1), AS_OF))["headline"]
    assert (h["active"], h["visit_days"], h["visits_per_customer"], h["purchases"], h["repeat"]) == (1, 2, 2.0, 3, 1)
    [march] = loyalty.compute(loyalty.Filters(datetime.date(2026, 3, 1), AS_OF))["monthly"]
    assert (march["visit_days"], march["purchases"], march["customers"]) == (2, 3, 1)


def test_a_visit_day_is_the_locations_own_day(visit, time_at):
    tokyo = LocationFactory(name="Tokyo", timezone="Asia/Tokyo")
    kai = CustomerFactory(first_name="Kai", home_location=tokyo)
    shop_time = zoneinfo.ZoneInfo("Asia/Tokyo")
    # 08:00 and 20:00 on 31 March in Tokyo: 30 and 31 March in New York, one visit day in Tokyo
    visit(kai, at(2026, 3, 31, 8, tz=shop_time), where=tokyo)
    visit(kai, at(2026, 3, 31, 20, tz=shop_time), where=tokyo)
    # 09:00 on 1 April in Tokyo is still 31 March in New York: outside a range ending 31 March
    visit(kai, at(2026, 4, 1, 9, tz=shop_time), where=tokyo)
    h = loyalty.compute(loyalty.Filters(datetime.date(2026, 3, 1), AS_OF, tokyo))["headline"]
    assert (h["active"], h["visit_days"]) == (1, 1)


@pytest.fixture
def past_business(visit, location):
    """A history that ends in 2020, read in November 2026."""
    ivy = CustomerFactory(first_name="Ivy", home_location=location)
    for day in (1, 11, 21):  # every 10 days, then nothing after 21 November 2020
        visit(ivy, at(2020, 11, day))
    joe = CustomerFactory(first_name="Joe", home_location=location)
    for month, day in ((11, 5), (11, 19), (12, 3), (12, 17), (12, 30)):  # every fortnight up to 30 December
        visit(joe, at(2020, month, day))
    kim = CustomerFactory(first_name="Kim", home_location=location)
    for month, day in ((10, 1), (10, 31), (11, 30)):  # every 30 days, last on 30 November 2020
        visit(kim, at(2020, month, day))
    return {"ivy": ivy, "joe": joe, "kim": kim}


def test_a_history_ending_in_the_past_is_judged_at_the_end_of_its_range(past_business):
    figures = loyalty.compute(loyalty.Filters(datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)))
    # Ivy: every 10 days, 40 days since 21 November on 31 December: over twice her gap
    assert names(figures, "drifting") == ["Ivy"]
    [ivy] = figures["lists"]["drifting"]["customers"]
    assert (ivy["days_since_last_visit"], ivy["usual_gap_days"], ivy["usually"]) == (40, 10, "usually every 10 days")
    # Kim: every 30 days, 31 days since 30 November: past her gap, not twice it
    assert names(figures, "at_risk") == ["Kim"]
    # Joe came the day before the end: neither; judged from today all three would be long gone
    assert figures["lists"]["drifting"]["count"] == 1 and figures["lists"]["at_risk"]["count"] == 1
    assert figures["week"]["drifting_names"] == ["Ivy"]


def test_a_customer_with_one_visit_day_never_drifts_and_shows_as_never_came_back(visit, location):
    lea = CustomerFactory(first_name="Lea", home_location=location)
    visit(lea, at(2026, 1, 10, 9), kind="purchase", amount=Decimal("5"))
    visit(lea, at(2026, 1, 10, 17))  # the same day again
    figures = loyalty.compute(loyalty.Filters(*RANGE))
    assert [figures["lists"][key]["count"] for key in ("drifting", "at_risk", "win_back")] == [0, 0, 0]
    [lea_row] = figures["lists"]["never_back"]["customers"]
    assert (lea_row["visit_days"], lea_row["usual_gap_days"], lea_row["usually"]) == (1, None, "one visit day so far")


def test_never_came_back_waits_for_the_quiet_weeks(visit, location):
    early = CustomerFactory(first_name="Early", home_location=location)
    late = CustomerFactory(first_name="Late", home_location=location)
    before = CustomerFactory(first_name="Before", home_location=location)
    visit(early, at(2026, 2, 17))  # the last day before the six quiet weeks: could have come back
    visit(late, at(2026, 2, 18))  # inside the quiet weeks: too soon to say
    visit(before, at(2025, 9, 30))  # first seen before the range: not new in it
    assert names(loyalty.compute(loyalty.Filters(*RANGE)), "never_back") == ["Early"]


@pytest.fixture
def win_back_edges(visit, location):
    people = {}
    histories = {
        # three visit days inside the six months, the last the day before the quiet weeks: in
        "Inside": [(2025, 10, 1), (2025, 12, 1), (2026, 2, 17)],
        # the same, but the last on the first quiet day: not lost
        "Quiet": [(2025, 10, 1), (2025, 12, 1), (2026, 2, 18)],
        # the first visit a day before the six months: only two inside
        "Window": [(2025, 9, 30), (2025, 12, 1), (2026, 2, 17)],
    }
    for name, days in histories.items():
        people[name] = CustomerFactory(first_name=name, home_location=location)
        for day in days:
            visit(people[name], at(*day))
    # four purchases on two days: two visit days, not four
    people["Rows"] = CustomerFactory(first_name="Rows", home_location=location)
    for hour in (10, 12, 14):
        visit(people["Rows"], at(2025, 11, 1, hour), kind="purchase", amount=Decimal("1"))
    visit(people["Rows"], at(2026, 1, 10), kind="purchase", amount=Decimal("1"))
    return people


def test_the_win_back_rules_boundaries(win_back_edges):
    figures = loyalty.compute(loyalty.Filters(*RANGE))
    win_back = figures["lists"]["win_back"]
    assert names(figures, "win_back") == ["Inside"]
    assert win_back["rule"] == (
        "At least 3 visit days from 1 Oct 2025 to 31 Mar 2026 (6 months), and none from 18 Feb 2026 on "
        "(the last 6 weeks)."
    )


def test_an_owner_sets_the_win_back_rule_and_the_lists_follow_it(win_back_edges, client, owner):
    client.force_login(owner)
    params = {"from": RANGE[0].isoformat(), "to": RANGE[1].isoformat()}
    assert [
        c["name"].split()[0]
        for c in client.get(reverse("loyalty-dashboard"), params).context["f"]["lists"]["win_back"]["customers"]
    ] == ["Inside"]
    page = client.get(reverse("loyalty-rule"))
    assert "At least 3 visit days" in page.content.decode()
    response = client.post(reverse("loyalty-rule"), {"regular_visit_days": 2, "regular_months": 6, "quiet_weeks": 6})
    assert response.status_code == 302
    rule = LoyaltyRule.current()
    assert (rule.regular_visit_days, rule.updated_by) == (2, owner)
    assert LogEntry.objects.get_for_object(rule).filter(actor=owner).exists()  # audited like other settings
    # two visit days are enough now: Window (two inside the months) and Rows (two days of four purchases) join
    dashboard = client.get(reverse("loyalty-dashboard"), params).context["f"]
    assert sorted(c["name"].split()[0] for c in dashboard["lists"]["win_back"]["customers"]) == [
        "Inside",
        "Rows",
        "Window",
    ]


def test_a_bad_win_back_rule_gets_a_message_and_changes_nothing(client, owner):
    client.force_login(owner)
    for data, field in (
        ({"regular_visit_days": 1, "regular_months": 6, "quiet_weeks": 6}, "regular_visit_days"),
        ({"regular_visit_days": 3, "regular_months": 1, "quiet_weeks": 8}, "quiet_weeks"),
        ({"regular_visit_days": "x", "regular_months": "", "quiet_weeks": 6}, "regular_visit_days"),
    ):
        response = client.post(reverse("loyalty-rule"), data)
        assert response.status_code == 200 and response.context["form"].errors[field]
    rule = LoyaltyRule.current()
    assert (rule.regular_visit_days, rule.regular_months, rule.quiet_weeks) == (3, 6, 6)


def test_managers_read_the_rule_on_the_dashboard_but_only_owners_change_it(client, manager):
    client.force_login(manager)
    assert client.get(reverse("loyalty-rule")).status_code == 403
    assert client.post(reverse("loyalty-rule"), {"regular_visit_days": 2}).status_code == 403


def test_the_lists_link_to_notes_follow_ups_and_a_consented_contact(visit, client, owner, manager, location):
    ivy = CustomerFactory(
        first_name="Ivy", home_location=location, email="ivy@example.com", consent_email_at=datetime.date(2025, 1, 1)
    )
    noel = CustomerFactory(first_name="Noel", home_location=location, email="noel@example.com", phone="+12075550123")
    for customer in (ivy, noel):
        for day in (1, 11, 21):
            visit(customer, at(2026, 1, day))
    note_create(customer=ivy, author=manager, text="Training for the Boston marathon")
    secret = note_create(customer=ivy, author=manager, text="Going through a divorce", is_sensitive=True)
    follow_up_create(customer=ivy, created_by=manager, prompt="Ask how the move went")
    follow_up_create(customer=ivy, created_by=manager, prompt="Ask about the divorce", note=secret)
    outsider = UserFactory(role="owner", username="otto", locations=[LocationFactory(name="Uptown")])
    params = {"from": "2026-01-01", "to": "2026-03-31"}

    client.force_login(outsider)  # an owner who is not staff of Ivy's location
    page = client.get(reverse("loyalty-dashboard"), params).content.decode()
    assert "Training for the Boston marathon" in page and "Ask how the move went" in page
    assert "divorce" not in page and PRIVATE_FOLLOW_UP in page
    assert 'href="mailto:ivy@example.com"' in page
    assert "noel@example.com" not in page and "+12075550123" not in page  # Noel consented to nothing
    assert reverse("gesture-propose", args=[ivy.pk]) in page

    client.force_login(owner)  # staff of her location: may read it, on her page (audited), not here
    page = client.get(reverse("loyalty-dashboard"), params).content.decode()
    assert "Going through a divorce" not in page and f"“{PRIVATE_NOTE}”" in page
    assert "Ask about the divorce" in page


def test_the_dashboard_pins_its_queries_however_long_the_lists(
    visit, client, owner, location, django_assert_max_num_queries
):
    params = {"from": "2026-01-01", "to": "2026-03-31"}
    client.force_login(owner)

    def count_queries(extra: int) -> None:
        for n in range(extra):
            customer = CustomerFactory(first_name=f"Reg{n}", home_location=location)
            for day in (1, 11, 21):
                visit(customer, at(2026, 1, day))
            note_create(customer=customer, author=owner, text=f"Note {n}")
            follow_up_create(customer=customer, created_by=owner, prompt=f"Call {n}")
        loyalty.refresh_snapshots()
        client.get(reverse("loyalty-dashboard"), params)  # the range's snapshot is made
        with django_assert_max_num_queries(16):
            response = client.get(reverse("loyalty-dashboard"), params)
        assert response.status_code == 200

    count_queries(1)
    count_queries(8)


def test_the_week_in_one_line(visit, client, owner, manager, location, time_at):
    for name in ("Grace", "Dina", "Omar", "Pia"):
        customer = CustomerFactory(first_name=name, home_location=location)
        for day in (1, 11, 21):
            visit(customer, at(2026, 9, day))
    for n in range(2):
        follow_up_create(
            customer=customer,
            created_by=manager,
            prompt=f"Overdue {n}",
            due="on_date",
            due_date=datetime.date(2026, 11, 10),
        )
    microcx.ensure_default_rules()
    microcx.budget_create(location=location, period="month", day=TODAY.date(), amount=Decimal("400"), by=manager)
    gesture = propose_gesture(customer=customer, proposer=owner, location=location, amount="18")
    microcx.gesture_deliver(gesture=gesture, by=owner, delivered_on=TODAY.date())
    client.force_login(owner)
    response = client.get(reverse("loyalty-dashboard"))  # the last 12 months, judged today
    line = " ".join(response.content.decode().split('data-testid="week-line"')[1].split("</p>")[0].split())
    assert "4 regulars drifting</a>: Grace, Dina, Omar and 1 more" in line
    assert "2 follow-ups overdue" in line
    assert "gestures November 2026 $18.00 of $400.00" in line


@pytest.mark.parametrize(
    "params, field, message",
    [
        (
            {"from": "2026-03-31", "to": "2026-01-01"},
            "to",
            "The range ends (1 Jan 2026) before it starts (31 Mar 2026)",
        ),
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to", "Choose a date between 1 Jan 1900 and"),
        ({"from": "0001-01", "to": "2026-01-01"}, "from", "Enter a date like 2026-01-31."),
        ({"from": "0001-01-01", "to": "2026-01-01"}, "from", "Choose a date between 1 Jan 1900 and"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from", "three years at most"),
    ],
)
def test_a_bad_range_is_answered_with_a_message_not_swapped(client, owner, params, field, message):
    client.force_login(owner)
    response = client.get(reverse("loyalty-dashboard"), params)
    assert response.status_code == 200 and "f" not in response.context
    assert message in response.context["form"].errors[field][0]
    assert message in response.content.decode()  # beside the field, and in the notice
    behind = client.get(reverse("loyalty-customers"), {"figure": "active", **params})
    assert behind.status_code == 200 and "range-problem" in behind.content.decode()


def test_the_report_refuses_a_reversed_or_far_range():
    with pytest.raises(CommandError, match="before it starts"):
        call_command("loyalty_report", "--from", "2026-03-31", "--to", "2026-01-01", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Choose a date between"):
        call_command("loyalty_report", "--from", "2026-01-01", "--to", "9999-12-31", stdout=io.StringIO())


def test_a_superuser_from_createsuperuser_is_an_owner_of_every_location(visit, client, location, other_location):
    for where in (location, other_location):
        customer = CustomerFactory(home_location=where)
        visit(customer, at(2026, 3, 2), where=where)
    call_command("createsuperuser", "--noinput", "--username", "boss", "--email", "boss@example.com")
    boss = User.objects.get(username="boss")
    assert roles.role_of(boss) == roles.OWNER and not boss.groups.exists() and not boss.locations.exists()
    client.force_login(boss)
    response = client.get(reverse("loyalty-dashboard"), {"from": "2026-03-01", "to": "2026-03-31"})
    assert response.context["f"]["headline"]["active"] == 2
    assert response.context["filters"].allowed is None
    assert client.get(reverse("loyalty-rule")).status_code == 200
