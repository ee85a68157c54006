"""The demo tells a story an owner recognises, read through the real figures (crm.insights.loyalty) and rows.

Run on any day: TEST_CLOCK=2028-02-29T12:00:00+00:00 or TEST_CLOCK=2026-12-31T23:30:00-05:00 moves "today".
"""

import datetime
import io

from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.utils import timezone

from crm.insights import impact, loyalty
from crm.kernel.models import Snapshot
from customers.models import Customer, FollowUp, ImportantDate
from journeys.models import Interaction
from microcx import services as microcx_services
from microcx.models import Budget, Gesture, LedgerEntry

# What a note says about a person's age: (words in the note, youngest, oldest). The rule of this demo.
LIFE_STAGES = [
    ("retired", 55, 110),
    ("student", 16, 30),
    ("university", 16, 30),
    ("graduated", 40, 110),  # a parent whose child graduated
    ("25 years married", 43, 110),
    ("baby", 18, 50),  # a new parent
]


def _age(birthday: ImportantDate, today: datetime.date) -> int:
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


def test_demo_figures_read_like_a_real_shop(db):
    call_command("seed_demo")
    today = timezone.localdate()
    start, end = loyalty.standard_ranges(today)["Last 12 months"]
    figures = loyalty.compute(loyalty.Filters(start, end))

    headline = figures["headline"]
    assert headline["active"] > 20
    assert 40 <= headline["repeat_rate"] <= 60, headline
    assert headline["new"] < headline["active"] / 2  # most customers are not new

    # One to three new customers in each of the last six whole months.
    this_month = today.replace(day=1)
    for months_ago in range(1, 7):
        month = this_month - relativedelta(months=months_ago)
        new = loyalty.headline(loyalty.Filters(month, month + relativedelta(months=1, days=-1)))["new"]
        assert 1 <= new <= 3, (month, new)

    # A drifting regular or two, who are also the ones to win back.
    drifting = figures["lists"]["drifting"]
    assert 1 <= drifting["count"] <= 3, drifting
    assert {c["name"] for c in drifting["customers"]} <= {c["name"] for c in figures["lists"]["win_back"]["customers"]}
    assert figures["lists"]["never_back"]["count"] >= 1

    # Gestures: some that worked, one that did not; follow-ups kept and overdue; a budget with spend.
    recipients = impact.compute(today, start)["recipients"]  # whose window has ended: [..., came back, ...]
    assert 1 <= sum(row[4] for row in recipients) < len(recipients), recipients
    assert figures["follow_ups"]["done"] >= 1 and figures["follow_ups"]["overdue"] >= 1
    assert figures["week"]["overdue"] >= 1
    assert float(figures["week"]["gestures"]["spent"]) > 0


def test_demo_customers_are_consistent_people(db):
    call_command("seed_demo")
    counts = [Interaction.objects.count(), Gesture.objects.count(), FollowUp.objects.count()]
    counts += [LedgerEntry.objects.count(), Budget.objects.count(), Customer.objects.count()]

    customers = list(Customer.objects.select_related("home_location").prefetch_related("notes", "important_dates"))
    assert len(customers) == 32
    for customer in customers:
        today = customer.home_location.local_today()
        assert customer.customer_since is not None and customer.first_visit_at is not None, customer
        first_day = timezone.localtime(customer.first_visit_at, customer.home_location.tzinfo).date()
        # The first visit is on the customer-since day or soon after, never before, never years later.
        assert customer.customer_since <= first_day <= customer.customer_since + datetime.timedelta(days=60), (
            customer,
            customer.customer_since,
            first_day,
        )
        assert customer.customer_since <= today
        notes = " ".join(note.text for note in customer.notes.all()).lower()
        birthday = next(d for d in customer.important_dates.all() if d.kind == ImportantDate.Kind.BIRTHDAY)
        if birthday.year is None:
            assert not any(words in notes for words, _low, _high in LIFE_STAGES), customer
            continue
        age = _age(birthday, today)
        assert 16 <= age <= 100, (customer, age)
        for words, low, high in LIFE_STAGES:
            if words in notes:
                assert low <= age <= high, (customer, words, age)

    # Gestures: delivered ones whose customer came back within 90 days, and one (over 90 days ago) that did not.
    delivered = list(loyalty.with_return(Gesture.objects.filter(status=Gesture.Status.DELIVERED)))
    assert sum(g.came_back for g in delivered) >= 2
    today = timezone.localdate()
    assert any(not g.came_back and g.delivered_on <= today - datetime.timedelta(days=91) for g in delivered)
    # Each earlier gesture was paid from the budget of its own month, and the ledger adds up.
    for gesture in delivered:
        assert gesture.budget.starts_on <= gesture.delivered_on <= gesture.budget.ends_on
        assert microcx_services.budget_balance(gesture.budget).spent >= gesture.amount
    assert FollowUp.objects.filter(status=FollowUp.Status.DONE, outcome_note__isnull=False).exists()

    call_command("seed_demo")  # twice adds nothing
    again = [Interaction.objects.count(), Gesture.objects.count(), FollowUp.objects.count()]
    again += [LedgerEntry.objects.count(), Budget.objects.count(), Customer.objects.count()]
    assert again == counts


def test_demo_has_an_offer_redeemed_a_card_posted_and_a_thank_you_not_opened(db):
    from outreach import tracking
    from outreach.models import Message
    from outreach.offers import Offer

    call_command("seed_demo")
    call_command("seed_demo")  # twice: nothing doubles
    assert Message.objects.count() == 3 and Offer.objects.count() == 1
    today = timezone.localdate()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    offers = loyalty.offer_figures(loyalty.Filters(last_month, today))
    assert offers["sent"] == 1 and offers["redeemed"] == 1, offers
    card = Message.objects.get(channel=Message.Channel.MAIL)
    assert card.state == Message.State.SENT and card.occasion == "get_well" and card.interaction_id
    thank_you = Message.objects.get(occasion="thank_you")
    assert thank_you.state == Message.State.SENT and thank_you.tracking.opened_at is None
    months = tracking.monthly(last_month)
    assert sum(row["sent"] for row in months.values()) == 2
    assert sum(row["opened"] for row in months.values()) == sum(row["clicked"] for row in months.values()) == 1


def test_the_demo_answers_did_it_help_before_beats_first_run(db):
    call_command("seed_demo", stdout=io.StringIO())
    figures = Snapshot.objects.get(key=loyalty.IMPACT_KEY).figures
    assert "recipients" in figures and figures["computed_at"]
