"""Loyalty figures, computed by hand on a small hand-made business and compared; the report agrees."""

import datetime
import io
import json
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from crm.insights import loyalty
from customers.services import customer_archive, follow_up_complete, follow_up_create, follow_up_dismiss
from journeys.models import Touchpoint
from journeys.services import interaction_record
from microcx import services as microcx
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres
NOW = datetime.datetime(2026, 4, 15, 17, tzinfo=datetime.UTC)
START, END = datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)


def local(y, m, d, hour=12, minute=0):
    import zoneinfo

    return datetime.datetime(y, m, d, hour, minute, tzinfo=zoneinfo.ZoneInfo("America/New_York"))


@pytest.fixture
def business(time_at, location, other_location, frontline, manager, owner):
    tp = {t.slug: t for t in Touchpoint.objects.all()}
    people = {}

    def visit(name, at, where=location, kind="visit", amount=None):
        time_at(at)
        interaction_record(
            customer=people[name],
            touchpoint=tp["in-store"],
            location=where,
            staff=frontline,
            kind=kind,
            occurred_at=at,
            amount=amount,
        )

    for name, home in [
        ("Ann", location),
        ("Ben", location),
        ("Cal", location),
        ("Dee", location),
        ("Eve", other_location),
        ("Fay", location),
        ("Gus", location),
    ]:
        people[name] = CustomerFactory(first_name=name, home_location=home)
    people["Eve"].referred_by = people["Ben"]
    people["Eve"].save()
    visit("Ben", local(2025, 12, 20))
    visit("Gus", local(2026, 1, 1))
    visit("Ann", local(2026, 1, 5, 10))
    visit("Ann", local(2026, 1, 5, 16))  # the same day twice: one visit day
    visit("Gus", local(2026, 1, 8))
    visit("Dee", local(2026, 1, 10))
    visit("Gus", local(2026, 1, 15))
    visit("Eve", local(2026, 2, 1), where=other_location, kind="purchase", amount=Decimal("50.00"))
    visit("Eve", local(2026, 2, 2), where=other_location)
    visit("Ben", local(2026, 2, 10), kind="purchase", amount=Decimal("100.00"))
    visit("Dee", local(2026, 2, 10))
    visit("Ben", local(2026, 3, 15))
    visit("Cal", local(2026, 3, 31, 23))  # inside the range, late in the evening
    visit("Cal", local(2026, 4, 1, 0, 30))  # just outside it
    time_at(local(2026, 2, 1))
    interaction_record(
        customer=people["Fay"],
        touchpoint=tp["phone"],
        location=location,
        staff=frontline,
        kind="conversation",
        summary="Asked about lenses",
    )  # a conversation is not a visit
    customer_archive(customer=people["Dee"])  # archived later: her visits still count

    # follow-ups: 3 raised in the range, one done after 2 days, one dismissed, one overdue
    time_at(local(2026, 2, 3))
    done = follow_up_create(customer=people["Ann"], created_by=frontline, prompt="Ask about the trip")
    dismissed = follow_up_create(customer=people["Ben"], created_by=frontline, prompt="Call back")
    follow_up_create(
        customer=people["Cal"],
        created_by=frontline,
        prompt="Lenses ready",
        due="on_date",
        due_date=datetime.date(2026, 4, 1),
    )
    time_at(local(2026, 2, 5))
    follow_up_complete(follow_up=done, user=frontline)
    follow_up_dismiss(follow_up=dismissed, user=manager)

    # micro-CX: a January budget; a gesture for Ben delivered on 5 January
    time_at(local(2026, 1, 5, 9))
    microcx.ensure_default_rules()
    microcx.budget_create(
        location=location, period="month", day=datetime.date(2026, 1, 5), amount=Decimal("100"), by=manager
    )
    gesture, _ = microcx.gesture_propose(
        customer=people["Ben"],
        proposer=frontline,
        location=location,
        category="card",
        description="New year card",
        amount=Decimal("5"),
        idempotency_key=uuid.uuid4(),
    )
    microcx.gesture_deliver(gesture=gesture, by=frontline, delivered_on=datetime.date(2026, 1, 5))
    time_at(NOW)
    return {"people": people, "location": location, "other": other_location}


def test_headline_figures_for_the_whole_business(business):
    h = loyalty.compute(loyalty.Filters(START, END))["headline"]
    # 12 visit and purchase rows, but Ann's two on 5 January are one visit day: 11 visit days for 6 customers
    assert h == {
        "active": 6,
        "new": 5,
        "repeat": 4,
        "repeat_rate": 66.7,
        "visit_days": 11,
        "visits_per_customer": 1.83,
        "purchases": 2,
        "revenue": "150.00",
        "revenue_per_customer": "25.00",
    }


def test_headline_figures_for_one_location(business):
    h = loyalty.compute(loyalty.Filters(START, END, business["location"]))["headline"]
    assert (h["active"], h["new"], h["repeat"], h["repeat_rate"]) == (5, 4, 3, 60.0)
    # Downtown: Ann 1 day, Ben 2, Cal 1, Dee 2, Gus 3 = 9 visit days; Ben's purchase
    assert (h["visit_days"], h["visits_per_customer"], h["purchases"], h["revenue_per_customer"]) == (
        9,
        1.8,
        1,
        "20.00",
    )


def test_retention_by_monthly_cohort(business):
    table = {row["cohort"]: row for row in loyalty.compute(loyalty.Filters(START, END))["cohorts"]["table"]}
    january = table["2026-01"]
    assert january["customers"] == 3  # Ann, Dee, Gus (Ben's first visit was in December)
    assert [(r["month"], r["customers"], r["rate"]) for r in january["retention"]] == [
        ("2026-02", 1, 33.3),
        ("2026-03", 0, 0.0),
    ]
    assert table["2026-02"]["customers"] == 1 and table["2026-03"]["customers"] == 1


def test_drifting_away_leaves_out_archived_customers(business):
    drifting = loyalty.compute(loyalty.Filters(START, END))["lists"]["drifting"]
    assert drifting["count"] == 1
    [gus] = drifting["customers"]
    # 1, 8 and 15 January: every 7 days; judged on 31 March, 75 days after the last (over twice 7)
    assert (gus["name"].split()[0], gus["visit_days"], gus["usual_gap_days"]) == ("Gus", 3, 7)
    assert (gus["days_since_last_visit"], gus["usually"]) == (75, "usually every 7 days")


def test_follow_up_figures(business):
    f = loyalty.compute(loyalty.Filters(START, END))["follow_ups"]
    assert (f["raised"], f["done"], f["dismissed"], f["overdue"], f["median_days_to_done"]) == (3, 1, 1, 1, 2.0)


def test_word_of_mouth(business):
    w = loyalty.compute(loyalty.Filters(START, END))["word_of_mouth"]
    assert w["referred"] == 1 and w["top_referrers"][0]["referrals"] == 1


def test_micro_cx_budget_figures(business):
    m = loyalty.compute(loyalty.Filters(START, END, business["location"]))["microcx"]
    assert (m["allocated"], m["spent"]) == ("100.00", "5.00")
    # whether the gestures helped is the snapshot task's matched comparison: tests/crm/test_impact.py


def test_the_report_prints_the_dashboards_figures(business, client, owner):
    out = io.StringIO()
    call_command("loyalty_report", "--from", "2026-01-01", "--to", "2026-03-31", "--json", stdout=out)
    report = json.loads(out.getvalue())
    client.force_login(owner)
    dashboard = client.get(reverse("loyalty-dashboard"), {"from": "2026-01-01", "to": "2026-03-31"}).context["f"]
    for key in ("week", "headline", "cohorts", "lists", "follow_ups", "word_of_mouth", "microcx", "touchpoints"):
        assert report[key] == json.loads(json.dumps(dashboard[key], default=str)), key
    text = io.StringIO()
    call_command("loyalty_report", "--from", "2026-01-01", "--to", "2026-03-31", stdout=text)
    assert "Repeat-customer rate    66.7% (4 of 6)" in text.getvalue()
    assert "Visit days per customer 1.83 (11 visit days" in text.getvalue()
    assert "Purchases               2 (every purchase row)" in text.getvalue()
    assert "75 days since the last, usually every 7 days" in text.getvalue()
    assert "None" not in text.getvalue().split("Lists to act on")[1].split("Follow-ups:")[0]


def test_every_figure_links_to_its_customers(business, client, owner):
    client.force_login(owner)
    url = reverse("loyalty-customers")
    names = lambda figure, **extra: sorted(  # noqa: E731
        c.first_name
        for c in client.get(url, {"figure": figure, "from": "2026-01-01", "to": "2026-03-31", **extra})
        .context["page"]
        .object_list
    )
    assert names("active") == ["Ann", "Ben", "Cal", "Dee", "Eve", "Gus"]
    assert names("repeat") == ["Ben", "Dee", "Eve", "Gus"]
    assert names("new") == ["Ann", "Cal", "Dee", "Eve", "Gus"]
    assert names("drifting") == ["Gus"]
    assert names("win_back") == ["Gus"]
    assert names("never_back") == ["Ann"]
    assert names("at_risk") == []
    assert names("cohort", cohort="2026-01", month="2026-02") == ["Dee"]
    assert names("referred") == ["Eve"]


def test_a_manager_sees_only_their_locations(business, client, manager):
    client.force_login(manager)  # works at Downtown only
    response = client.get(reverse("loyalty-dashboard"), {"from": "2026-01-01", "to": "2026-03-31"})
    assert response.context["f"]["headline"]["active"] == 5
    other = business["other"].pk
    assert client.get(reverse("loyalty-dashboard"), {"location": other}).status_code == 404


def test_the_dashboard_reads_a_snapshot_and_says_as_of_when(business, client, owner, django_assert_max_num_queries):
    client.force_login(owner)
    params = {"from": "2026-01-01", "to": "2026-03-31"}
    client.get(reverse("loyalty-dashboard"), params)
    # the snapshot, the rule, the session and user, the approvals badge, and per reader: the list customers,
    # their notes, their open follow-ups and which come from sensitive notes: constant, whatever the lists hold
    with django_assert_max_num_queries(16):
        response = client.get(reverse("loyalty-dashboard"), params)
    assert "as of" in response.content.decode()


def test_a_garbled_month_in_the_address_is_a_404_not_an_error(client, owner):
    client.force_login(owner)
    for params in ({"cohort": "garbage"}, {"cohort": "2026-13"}, {"cohort": "2026-01", "month": "zzz"}):
        assert client.get(reverse("loyalty-customers"), {"figure": "cohort", **params}).status_code == 404


def test_the_snapshot_run_shares_one_visit_day_rollup_with_the_same_figures(business, time_at, other_location):
    """refresh_snapshots groups the visits once for every range and location: its figures are compute()'s."""
    from crm.kernel.models import Location, Snapshot

    other_location.timezone = "Asia/Tokyo"  # a second zone: local days differ from the business's
    other_location.save()
    time_at(NOW)
    loyalty.refresh_snapshots()
    rule = loyalty.WinBack.current()
    checked = 0
    for start, end in loyalty.standard_ranges(loyalty.timezone.localdate()).values():
        for where in [None, *Location.objects.filter(is_active=True)]:
            filters = loyalty.Filters(start, end, where, win_back=rule)
            stored = dict(Snapshot.objects.get(key=loyalty.snapshot_key(filters)).figures)
            fresh = loyalty.compute(filters)
            for figures in (stored, fresh):
                figures.pop("computed_at")
            assert stored == fresh
            checked += 1
    assert checked >= 6
    # Several locations at once (a manager's), and a range ending after the rollup's last day.
    ids = tuple(Location.objects.values_list("pk", flat=True))
    with loyalty.DayRollup(datetime.date(2026, 3, 31)) as rollup:
        for end in (END, datetime.date(2026, 4, 15)):
            filters = loyalty.Filters(START, end, None, allowed=ids, win_back=rule)
            assert loyalty.visit_days(filters, rollup) == loyalty.visit_days(filters)
