"""Gestures, discretion and the append-only ledger, on PostgreSQL."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from crm.inbox.models import Notification
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record
from microcx import services
from microcx.models import Budget, Gesture, LedgerEntry
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def available(budget):
    return services.budget_balance(budget).available


def test_gesture_within_discretion_is_approved_at_once_and_holds_the_money(propose, frontline, budget):
    gesture = propose(frontline, "20")
    assert gesture.status == Gesture.Status.APPROVED
    assert available(budget) == Decimal("180.00")
    assert list(budget.entries.values_list("kind", "amount")) == [
        ("allocation", Decimal("200")),
        ("hold", Decimal("20")),
    ]


def test_gesture_above_the_limit_waits_for_a_manager_who_approves_it(propose, frontline, manager, budget):
    gesture = propose(frontline, "60")
    assert gesture.status == Gesture.Status.PENDING and available(budget) == Decimal("200")
    services.gesture_approve(gesture=gesture, by=manager)
    gesture.refresh_from_db()
    assert gesture.status == Gesture.Status.APPROVED and gesture.decided_by == manager
    assert available(budget) == Decimal("140.00")
    assert Notification.objects.get(recipient=frontline).title.startswith("Approved: Gift card for Anna")


def test_the_monthly_cap_sends_the_next_gesture_to_a_manager(propose, frontline):
    for _ in range(4):
        assert propose(frontline, "25").status == Gesture.Status.APPROVED  # 100 = the frontline cap
    assert propose(frontline, "5").status == Gesture.Status.PENDING


def test_a_manager_cannot_approve_their_own_gesture_beyond_their_limit_but_an_owner_can(propose, manager, owner):
    gesture = propose(manager, "90")  # manager limit 75
    assert gesture.status == Gesture.Status.PENDING
    with pytest.raises(PermissionDenied, match=r"over your \$75.00 per-gesture limit: your own gesture needs another"):
        services.gesture_approve(gesture=gesture, by=manager)
    services.gesture_approve(gesture=gesture, by=owner)
    assert Gesture.objects.get(pk=gesture.pk).status == Gesture.Status.APPROVED


def test_frontline_cannot_approve(propose, frontline):
    gesture = propose(frontline, "60")
    with pytest.raises(PermissionDenied):
        services.gesture_approve(gesture=gesture, by=frontline)


def test_an_already_decided_gesture_cannot_be_decided_again(propose, frontline, manager):
    gesture = propose(frontline, "60")
    services.gesture_reject(gesture=gesture, by=manager, reason="We did flowers last week")
    with pytest.raises(ValidationError, match="already decided"):
        services.gesture_approve(gesture=Gesture.objects.get(pk=gesture.pk), by=manager)
    with pytest.raises(ValidationError, match="already decided"):
        services.gesture_reject(gesture=gesture, by=manager, reason="again")


def test_rejection_needs_a_reason(propose, frontline, manager):
    with pytest.raises(ValidationError, match="reason"):
        services.gesture_reject(gesture=propose(frontline, "60"), by=manager, reason="  ")


def test_delivery_spends_and_cancelling_releases(propose, frontline, budget):
    delivered = propose(frontline, "20")
    services.gesture_deliver(
        gesture=delivered, by=frontline, delivered_on=datetime.date(2026, 11, 20), reaction="Big smile"
    )
    cancelled = propose(frontline, "15")
    services.gesture_cancel(gesture=cancelled, by=frontline)
    balance = services.budget_balance(budget)
    assert (balance.available, balance.held, balance.spent) == (Decimal("180"), Decimal("0"), Decimal("20"))
    with pytest.raises(ValidationError):
        services.gesture_deliver(gesture=cancelled, by=frontline, delivered_on=datetime.date(2026, 11, 20))


def test_not_enough_money_is_a_clear_message_and_nothing_is_saved(propose, frontline, manager, budget):
    services.budget_adjust(budget=budget, amount=Decimal("-190"), reason="Cut", by=UserFactory(role="owner"))
    with pytest.raises(ValidationError, match="Not enough left"):
        propose(frontline, "20")
    assert not Gesture.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "cannot be negative"),
        ("10001", "more than a micro-CX budget"),
        ("20.555", "at most 2 decimal places"),
        ("NaN", "Give an amount"),
    ],
)
def test_bad_amounts_are_refused_clearly(propose, frontline, amount, message):
    with pytest.raises(ValidationError, match=message):
        propose(frontline, amount)
    assert not Gesture.objects.exists()


def test_the_same_form_sent_twice_makes_one_gesture(client, frontline, customer, location, budget):
    client.force_login(frontline)
    key = str(uuid.uuid4())
    data = {
        "category": "card",
        "description": "A handwritten card",
        "amount": "0",
        "location": location.pk,
        "idempotency_key": key,
    }
    first = client.post(reverse("gesture-propose", args=[customer.pk]), data)
    second = client.post(reverse("gesture-propose", args=[customer.pk]), data)
    assert Gesture.objects.count() == 1
    assert first.url == second.url == reverse("gesture-detail", args=[Gesture.objects.get().pk])


def test_staff_say_whether_a_gesture_puts_right_a_bad_experience(client, frontline, customer, location, budget):
    client.force_login(frontline)
    data = {"category": "card", "description": "Sorry about the wait", "amount": "0", "location": location.pk}
    client.post(
        reverse("gesture-propose", args=[customer.pk]),
        {**data, "occasion": "recovery", "idempotency_key": str(uuid.uuid4())},
    )
    client.post(reverse("gesture-propose", args=[customer.pk]), {**data, "idempotency_key": str(uuid.uuid4())})
    # Not said: blank, and the loyalty figures decide by the customer's last 30 days (crm/insights/impact.py).
    assert sorted(Gesture.objects.values_list("occasion", flat=True)) == ["", "recovery"]
    response = client.post(
        reverse("gesture-propose", args=[customer.pk]),
        {**data, "occasion": "bribe", "idempotency_key": str(uuid.uuid4())},
    )
    assert "not one of the available choices" in str(response.context["form"].errors["occasion"])
    assert Gesture.objects.count() == 2


def test_bad_input_in_the_form_shows_beside_the_field(client, frontline, customer, location, budget):
    client.force_login(frontline)
    response = client.post(
        reverse("gesture-propose", args=[customer.pk]),
        {
            "category": "card",
            "description": "",
            "amount": "12.345",
            "location": location.pk,
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    errors = response.context["form"].errors
    assert "at most 2 decimal places" in str(errors["amount"]) and "required" in str(errors["description"])
    assert not Gesture.objects.exists()


def test_frontline_cannot_propose_for_a_customer_of_another_location(client, frontline, other_customer, budget):
    client.force_login(frontline)
    assert client.get(reverse("gesture-propose", args=[other_customer.pk])).status_code == 404


def test_frontline_cannot_see_gestures_of_another_location(client, frontline, other_location, owner):
    other_budget = services.budget_create(
        location=other_location, period="month", day=other_location.local_today(), amount=Decimal("50"), by=None
    )
    assert other_budget
    stranger = CustomerFactory(home_location=other_location)
    colleague = UserFactory(role="frontline", locations=[other_location])
    gesture, _ = services.gesture_propose(
        customer=stranger,
        proposer=colleague,
        location=other_location,
        category="flowers",
        description="Flowers",
        amount=Decimal("40"),
        idempotency_key=uuid.uuid4(),
    )
    client.force_login(frontline)
    assert client.get(reverse("gesture-detail", args=[gesture.pk])).status_code == 404
    client.force_login(owner)
    assert client.get(reverse("gesture-detail", args=[gesture.pk])).status_code == 200


def test_the_database_refuses_to_update_or_delete_a_ledger_entry(budget):
    entry = budget.entries.get()
    for sql in (
        "UPDATE microcx_ledgerentry SET amount = 1 WHERE id = %s",
        "DELETE FROM microcx_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("200")


def test_owner_adjusts_with_a_reason_and_never_below_zero(budget, owner, manager):
    with pytest.raises(PermissionDenied):
        services.budget_adjust(budget=budget, amount=Decimal("10"), reason="x", by=manager)
    with pytest.raises(ValidationError, match="Say why"):
        services.budget_adjust(budget=budget, amount=Decimal("10"), reason=" ", by=owner)
    with pytest.raises(ValidationError, match="cannot go below zero"):
        services.budget_adjust(budget=budget, amount=Decimal("-201"), reason="Cut", by=owner)
    services.budget_adjust(budget=budget, amount=Decimal("50"), reason="Holiday season", by=owner)
    assert available(budget) == Decimal("250")


def test_a_budget_renews_for_the_next_period_and_rolls_over_once(location, time_at):
    time_at(datetime.datetime(2026, 11, 30, 23, 0, tzinfo=location.tzinfo))
    november = services.budget_create(
        location=location,
        period="month",
        day=datetime.date(2026, 11, 5),
        amount=Decimal("100"),
        by=None,
        rolls_over=True,
        renews=True,
    )
    assert (november.starts_on, november.ends_on) == (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    assert services.budget_renew(budget=november) is None  # November has not ended at the location yet
    time_at(datetime.datetime(2026, 12, 1, 0, 5, tzinfo=location.tzinfo))
    december = services.budget_renew(budget=november)
    assert services.budget_renew(budget=november) is None  # idempotent
    assert december.starts_on == datetime.date(2026, 12, 1)
    assert available(december) == Decimal("200") and available(november) == Decimal("0")


def test_quarter_bounds():
    assert Budget.period_bounds("quarter", datetime.date(2026, 11, 22)) == (
        datetime.date(2026, 10, 1),
        datetime.date(2026, 12, 31),
    )


def test_mechanical_gestures_ask_whether_they_are_genuine_and_are_flagged(propose, frontline, location):
    others = CustomerFactory.create_batch(3, home_location=location)
    for other in others:
        propose(frontline, "20", customer=other, description="Coffee voucher")
    with pytest.raises(services.NeedsConfirmation) as asked:
        propose(frontline, "20", description="Coffee voucher", confirmed=False)
    assert any("same gift card of $20.00" in flag for flag in asked.value.flags)
    assert any("same words" in flag for flag in asked.value.flags)
    gesture = propose(frontline, "20", description="Coffee voucher", confirmed=True)
    assert gesture.flags  # shown to the manager


def test_a_customer_receiving_gestures_too_often_is_flagged(propose, frontline):
    propose(frontline, "0", category="card", description="Card one")
    propose(frontline, "0", category="card", description="Card two")
    with pytest.raises(services.NeedsConfirmation, match="already had 2 gestures"):
        propose(frontline, "0", category="card", description="Card three", confirmed=False)


def test_spend_report_groups_and_exports(client, propose, frontline, manager, owner):
    propose(frontline, "20")
    big = propose(frontline, "60")
    services.gesture_approve(gesture=big, by=manager)
    client.force_login(owner)
    rows = client.get(reverse("spend-report"), {"group": "staff"}).context["rows"]
    assert rows == [
        {"group": frontline.username, "gestures": 2, "delivered": 0, "committed": Decimal("80"), "spent": Decimal("0")}
    ]
    csv_text = client.get(reverse("spend-report-csv"), {"group": "category"}).content.decode()
    assert "Gift card,2,0,80.00,0" in csv_text


def test_monthly_review_says_who_came_back_within_90_days(client, propose, frontline, manager, customer, location):
    gesture = propose(frontline, "20")
    delivered_on = location.local_today() - datetime.timedelta(days=1)
    services.gesture_deliver(gesture=gesture, by=frontline, delivered_on=delivered_on)
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=frontline,
        kind=Interaction.Kind.VISIT,
    )
    client.force_login(manager)
    # The review of the month it was delivered in: on the 1st, yesterday is last month.
    month = delivered_on.strftime("%Y-%m")
    [reviewed] = client.get(reverse("monthly-review"), {"month": month}).context["delivered"]
    assert reviewed.came_back is True


@pytest.mark.parametrize(
    ("days_ago", "says"),
    [(0, "too early to tell (day 0 of 90)"), (3, "too early to tell (day 3 of 90)"), (91, "did not come back within")],
)
def test_monthly_review_says_too_early_to_tell_until_the_90_days_are_over(
    client, propose, frontline, manager, location, days_ago, says
):
    gesture = propose(frontline, "20")
    delivered_on = location.local_today() - datetime.timedelta(days=days_ago)
    services.gesture_deliver(gesture=gesture, by=frontline, delivered_on=delivered_on)
    client.force_login(manager)
    page = client.get(reverse("monthly-review"), {"month": delivered_on.strftime("%Y-%m")}).content.decode()
    assert says in page


def test_approval_queue_is_oldest_first_with_recent_notes_in_constant_queries(
    client, propose, frontline, manager, location, django_assert_max_num_queries
):
    from customers.services import note_create

    for i in range(12):
        customer = CustomerFactory(home_location=location)
        note_create(customer=customer, author=frontline, text=f"Told us about her new job {i}")
        propose(frontline, "60", customer=customer)
    client.force_login(manager)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("gesture-queue"))
    rows = response.context["rows"]
    assert [r["gesture"].created_at for r in rows] == sorted(r["gesture"].created_at for r in rows)
    assert rows[0]["notes"][0].text.startswith("Told us about her new job")


def test_customer_brief_shows_gestures_received(client, propose, frontline, customer):
    propose(frontline, "20", category="flowers", description="Flowers for the engagement")
    client.force_login(frontline)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "Gestures received" in page and "Flowers" in page


def test_discretion_rules_are_consistent_and_owner_only(client, owner, manager):
    data = {
        "frontline-per_gesture_limit": "50",
        "frontline-monthly_cap": "20",
        "manager-per_gesture_limit": "75",
        "manager-monthly_cap": "300",
        "owner-per_gesture_limit": "500",
        "owner-monthly_cap": "2000",
    }
    client.force_login(manager)
    assert client.post(reverse("discretion-rules"), data).status_code == 403
    client.force_login(owner)
    response = client.post(reverse("discretion-rules"), data)
    assert "cannot be below the limit" in response.content.decode()
    from microcx.models import DiscretionRule

    assert DiscretionRule.objects.get(role="frontline").per_gesture_limit == Decimal("25")
