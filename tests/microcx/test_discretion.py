"""Discretion says why a manager is needed, with the figures; amounts are plain numbers; a form makes one gesture;
budget periods never overlap; the ledger cannot be truncated."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse
from django.utils.html import escape

from microcx import services
from microcx.models import Budget, DiscretionRule, Gesture, LedgerEntry

pytestmark = pytest.mark.postgres


def form_data(location, **fields):
    data = {
        "category": "gift_card",
        "description": f"Gift card {uuid.uuid4().hex[:6]}",
        "amount": "20",
        "location": location.pk,
        "genuine": "on",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(fields)
    return data


def test_a_zero_gesture_never_needs_approval_even_when_the_month_is_spent(propose, frontline):
    for _ in range(4):
        assert propose(frontline, "25").status == Gesture.Status.APPROVED  # the $100 cap is used up
    assert propose(frontline, "5").status == Gesture.Status.PENDING
    card = propose(frontline, "0", category="card", description="A handwritten card")
    assert card.status == Gesture.Status.APPROVED and card.approval_reason == ""


def test_a_zero_gesture_needs_no_manager_even_for_a_role_without_discretion(propose, frontline):
    DiscretionRule.objects.filter(role="frontline").delete()
    assert propose(frontline, "0", category="card").status == Gesture.Status.APPROVED
    pending = propose(frontline, "5")
    assert pending.status == Gesture.Status.PENDING
    assert pending.approval_reason == f"Needs a manager: {frontline}'s role has no spending discretion set."


def test_over_the_per_gesture_limit_says_so_with_the_figures_after_submitting(
    client, frontline, customer, location, budget
):
    client.force_login(frontline)
    response = client.post(
        reverse("gesture-propose", args=[customer.pk]), form_data(location, amount="60"), follow=True
    )
    gesture = Gesture.objects.get()
    assert gesture.status == Gesture.Status.PENDING
    reason = f"Needs a manager: $60.00 is over {frontline}'s $25.00 per-gesture limit."
    assert gesture.approval_reason == reason
    page = response.content.decode()
    assert page.count(escape(reason)) == 2  # the message, and the gesture page itself
    assert 'data-testid="approval-reason"' in client.get(reverse("gesture-detail", args=[gesture.pk])).content.decode()


def test_over_the_monthly_cap_says_what_is_left_before_and_after_submitting(
    client, propose, frontline, customer, location, budget
):
    for amount in ("25", "25", "25", "10"):
        propose(frontline, amount)  # $85 of the $100 cap
    client.force_login(frontline)
    form = client.get(reverse("gesture-propose", args=[customer.pk]), follow=True)
    left = "you have $15.00 left of your $100.00 this month"
    assert left in form.content.decode()
    assert "You may approve up to $25.00 a gesture yourself" in form.content.decode()

    # As the amount is typed (htmx), from the same discretion function.
    form_url = form.redirect_chain[-1][0]
    hint = client.get(f"{form_url}&amount=20&location={location.pk}", HTTP_HX_REQUEST="true")
    assert hint.content.decode().count("<p") == 1  # only the hint, not the page
    assert f"Needs a manager: $20.00 is more than you have left: {left}." in hint.content.decode()
    within = client.get(f"{form_url}&amount=15", HTTP_HX_REQUEST="true").content.decode()
    assert "Within your discretion" in within
    over = client.get(f"{form_url}&amount=30", HTTP_HX_REQUEST="true").content.decode()
    assert "$30.00 is over your $25.00 per-gesture limit" in over

    response = client.post(reverse("gesture-propose", args=[customer.pk]), form_data(location), follow=True)
    # Stored for the manager who decides, so it names the proposer.
    said = f"Needs a manager: $20.00 is more than {frontline} has left: $15.00 of their $100.00 this month."
    assert escape(said) in response.content.decode()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e3", "plain number"),
        ("1E3", "plain number"),
        ("NaN", "plain number"),
        ("Infinity", "plain number"),
        ("-Infinity", "plain number"),
        ("1,000", "plain number"),
        ("0x10", "plain number"),
        ("\uff12\uff10", "plain number"),  # full-width digits
        ("20 00", "plain number"),
        ("20.555", "at most 2 decimal places"),
        ("20.500", "at most 2 decimal places"),
        ("-5", "greater than or equal to 0"),
    ],
)
def test_an_amount_that_is_not_a_plain_number_is_refused_beside_the_field(
    client, frontline, customer, location, budget, amount, message
):
    client.force_login(frontline)
    response = client.post(reverse("gesture-propose", args=[customer.pk]), form_data(location, amount=amount))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["amount"])
    assert not Gesture.objects.exists()


def test_plain_amounts_are_accepted(client, frontline, customer, location, budget):
    client.force_login(frontline)
    for amount in ("0", "12", "12.5", "12.50", " 7.25 "):
        response = client.post(reverse("gesture-propose", args=[customer.pk]), form_data(location, amount=amount))
        assert response.status_code == 302, response.context["form"].errors
    assert sorted(Gesture.objects.values_list("amount", flat=True)) == [
        Decimal("0"),
        Decimal("7.25"),
        Decimal("12"),
        Decimal("12.5"),
        Decimal("12.5"),
    ]


def test_back_then_propose_again_makes_one_gesture_and_links_to_it(client, frontline, customer, location, budget):
    client.force_login(frontline)
    url = reverse("gesture-propose", args=[customer.pk])
    opened = client.get(url, {"note": ""})
    assert opened.status_code == 302
    form_url = opened.url
    key = re.search(r"form=([0-9a-f-]{36})", form_url).group(1)
    page = client.get(form_url).content.decode()
    assert f'value="{key}"' in page  # the rendered form carries the key of its address
    data = form_data(location, idempotency_key=key, description="Flowers for her recovery")
    first = client.post(form_url, data)
    gesture = Gesture.objects.get()
    assert first.url == reverse("gesture-detail", args=[gesture.pk])

    # Back: the same address, the same key, and the form says the gesture exists, with a link.
    back = client.get(form_url).content.decode()
    assert 'data-testid="already-proposed"' in back
    assert f'href="{reverse("gesture-detail", args=[gesture.pk])}"' in back
    # Propose again, as restored by the browser or as left empty: the first gesture, never a second.
    for again in (data, {"idempotency_key": key}):
        response = client.post(form_url, again, follow=True)
        assert response.redirect_chain[-1][0] == reverse("gesture-detail", args=[gesture.pk])
        assert "You already proposed this gesture with this form" in response.content.decode()
    assert Gesture.objects.count() == 1


def test_a_fresh_visit_to_the_form_gets_a_new_key(client, frontline, customer, budget):
    client.force_login(frontline)
    url = reverse("gesture-propose", args=[customer.pk])
    assert client.get(url).url != client.get(url).url


def test_a_form_without_its_key_says_so_visibly(client, frontline, customer, location, budget):
    client.force_login(frontline)
    data = form_data(location)
    del data["idempotency_key"]
    response = client.post(reverse("gesture-propose", args=[customer.pk]), data)
    assert response.status_code == 200
    assert 'data-testid="form-error"' in response.content.decode()
    assert "open it again" in response.content.decode()
    assert not Gesture.objects.exists()


def test_a_month_and_a_quarter_budget_cannot_cover_the_same_days(location, manager):
    day = datetime.date(2026, 5, 10)
    services.budget_create(location=location, period="month", day=day, amount=Decimal("100"), by=manager)
    with pytest.raises(ValidationError, match="already has a budget for May 2026"):
        services.budget_create(location=location, period="quarter", day=day, amount=Decimal("300"), by=manager)
    # The database refuses it too, whoever writes the row.
    with pytest.raises(IntegrityError, match="budget_periods_do_not_overlap"), transaction.atomic():
        Budget.objects.create(
            location=location, period="quarter", starts_on=datetime.date(2026, 4, 1), ends_on=datetime.date(2026, 6, 30)
        )
    # The next quarter is free.
    services.budget_create(
        location=location, period="quarter", day=datetime.date(2026, 7, 1), amount=Decimal("1"), by=manager
    )
    assert Budget.objects.count() == 2


def test_setting_a_budget_twice_shows_a_message_beside_the_form(client, manager, location):
    client.force_login(manager)
    data = {"location": location.pk, "period": "month", "day": "2026-05-10", "amount": "100"}
    assert client.post(reverse("budget-list"), data).status_code == 302
    again = client.post(reverse("budget-list"), {**data, "period": "quarter"})
    assert again.status_code == 200
    assert "already has a budget for May 2026" in again.content.decode()
    assert Budget.objects.count() == 1


def test_the_database_refuses_to_truncate_the_ledger(budget):
    refused = pytest.raises(DatabaseError, match="TRUNCATE is not allowed")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        # Fire the deferred foreign-key checks of this test's inserts, which TRUNCATE would otherwise trip on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE microcx_ledgerentry")
    assert LedgerEntry.objects.filter(budget=budget).count() == 1
