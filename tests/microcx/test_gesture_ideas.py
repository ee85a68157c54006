"""Gesture ideas from notes and from the inbox open the gesture form prefilled, within the proposer's discretion."""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from crm.inbox import reminders
from crm.inbox.models import Notification
from customers.models import ImportantDate, Suggestion
from customers.services import important_date_save, note_create
from microcx.models import DiscretionRule, Gesture
from tests.customers.factories import CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.postgres


def gesture_idea(note):
    return note.suggestions.get(kind=Suggestion.Kind.GESTURE)


def form_values(response):
    form = response.context["form"]
    return {name: form[name].value() for name in ("category", "amount", "description", "inspired_by")}


def test_a_stolen_car_proposes_a_gesture_idea_that_opens_the_form_prefilled(client, frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Her car was stolen last night")
    idea = gesture_idea(note)
    assert idea.summary == "Gesture idea: A small gift card after the theft, to cheer them up"
    client.force_login(frontline)

    response = client.post(reverse("suggestion-accept", args=[idea.pk]))

    assert response.status_code == 302
    form_url = response.url
    assert urlsplit(form_url).path == reverse("gesture-propose", args=[customer.pk])
    assert parse_qs(urlsplit(form_url).query)["note"] == [str(note.pk)]
    page = client.get(form_url, follow=True)  # the form first gives itself a key (?form=...)
    assert page.status_code == 200
    assert form_values(page) == {
        "category": "gift_card",
        "amount": Decimal("20.00"),  # frontline may give up to 25 on their own
        "description": "A small gift card after the theft, to cheer them up",
        "inspired_by": f"note:{note.pk}",
    }
    assert 'value="20.00"' in page.text and "A small gift card after the theft" in page.text
    idea.refresh_from_db()
    assert idea.status == Suggestion.Status.ACCEPTED
    assert not Gesture.objects.exists()  # nothing is spent until the form is sent


def test_taking_up_an_idea_in_place_sends_the_page_to_the_form(client, frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Unhappy with our booking, kept her waiting")
    client.force_login(frontline)
    response = client.post(reverse("suggestion-accept", args=[gesture_idea(note).pk]), headers={"HX-Request": "true"})
    assert response.status_code == 204
    target = response.headers["HX-Redirect"]
    assert form_values(client.get(target, follow=True))["category"] == "discount"


def test_the_prefilled_form_sent_as_it_is_makes_the_gesture_linked_to_the_note(client, frontline, customer, budget):
    note = note_create(customer=customer, author=frontline, text="Her son has chickenpox")
    client.force_login(frontline)
    form_url = client.post(reverse("suggestion-accept", args=[gesture_idea(note).pk])).url
    page = client.get(form_url, follow=True)  # the form first gives itself a key (?form=...)
    data = form_values(page)
    data |= {"location": customer.home_location_id, "idempotency_key": page.context["form"]["idempotency_key"].value()}
    data["genuine"] = "on"
    response = client.post(form_url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    gesture = Gesture.objects.get()
    assert (gesture.category, gesture.amount, gesture.note) == ("card", Decimal("0.00"), note)
    assert gesture.description == "A get-well card: hoping their son feels better soon"


def test_an_ideas_amount_is_capped_at_what_the_proposer_may_spend(client, frontline, customer, location, propose):
    DiscretionRule.objects.filter(role="frontline").update(per_gesture_limit=Decimal("25"), monthly_cap=Decimal("30"))
    propose(frontline, "18")  # approved within discretion: 12 of the monthly cap is left
    client.force_login(frontline)
    url = reverse("gesture-propose", args=[customer.pk])
    assert form_values(client.get(url, {"category": "flowers", "amount": "20"}, follow=True))["amount"] == Decimal(
        "12.00"
    )
    DiscretionRule.objects.filter(role="frontline").update(per_gesture_limit=Decimal("5"), monthly_cap=Decimal("300"))
    assert form_values(client.get(url, {"category": "flowers", "amount": "20"}, follow=True))["amount"] == Decimal(
        "5.00"
    )


@pytest.mark.parametrize(
    "query",
    [
        {"category": "bribe", "amount": "abc"},
        {"amount": "-5"},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "1e999999"},
        {"description": "x" * 5000},
        {"note": "not-a-number"},
    ],
)
def test_nonsense_in_the_address_is_ignored_not_an_error(client, frontline, customer, query):
    client.force_login(frontline)
    response = client.get(reverse("gesture-propose", args=[customer.pk]), query, follow=True)
    assert response.status_code == 200
    values = form_values(response)
    assert values["category"] in (None, "", "gift_card")
    assert values["amount"] in (None, "") or Decimal(values["amount"]) <= Decimal("25")
    assert len(values["description"] or "") <= 200


def test_the_inbox_birthday_card_idea_opens_a_handwritten_card(client, frontline, customer, location, time_at):
    time_at(datetime.datetime(2026, 11, 22, 15, 0, tzinfo=datetime.UTC))
    birthday = important_date_save(
        important_date=ImportantDate(customer=customer, kind=ImportantDate.Kind.BIRTHDAY, month=11, day=24)
    )
    assert reminders.raise_dates([birthday.pk], location.local_today()) == 1
    notification = Notification.objects.get(recipient=frontline)
    assert notification.gesture_idea == "A handwritten birthday card?"
    client.force_login(frontline)

    for page in (client.get(reverse("inbox")), client.get(reverse("home"))):
        link = next(
            href
            for href in page.text.split('href="')[1:]
            if href.startswith(reverse("gesture-propose", args=[customer.pk]))
        ).split('"')[0]
        form = client.get(link.replace("&amp;", "&"), follow=True)
        assert form_values(form) | {"inspired_by": None} == {
            "category": "card",
            "amount": Decimal("0.00"),
            "description": "A handwritten birthday card",
            "inspired_by": None,
        }


def test_an_inbox_idea_for_a_follow_up_is_linked_to_it(client, frontline, customer):
    follow_up = FollowUpFactory(customer=customer, prompt="Ask how the move went")
    Notification.objects.create(
        recipient=frontline,
        kind=Notification.Kind.FOLLOW_UP_DUE,
        follow_up=follow_up,
        occurrence=datetime.date(2026, 11, 22),
        customer=customer,
        title="Ask how the move went",
        gesture_idea="A small thank-you for their loyalty?",
    )
    client.force_login(frontline)
    page = client.get(reverse("inbox"))
    link = page.text.split(f'href="{reverse("gesture-propose", args=[customer.pk])}')[1].split('"')[0]
    values = form_values(
        client.get(reverse("gesture-propose", args=[customer.pk]) + link.replace("&amp;", "&"), follow=True)
    )
    assert values["inspired_by"] == f"follow_up:{follow_up.pk}"
    assert (values["category"], values["description"]) == ("small_gift", "A small thank-you for their loyalty")


def test_the_description_placeholder_is_not_another_customers_story(client, frontline, customer, location):
    other = CustomerFactory(home_location=location)
    client.force_login(frontline)
    placeholders = set()
    for someone in (customer, other):
        form = client.get(reverse("gesture-propose", args=[someone.pk]), follow=True).context["form"]
        placeholders.add(form.fields["description"].widget.attrs["placeholder"])
    assert placeholders == {"What you will do, and why it suits this customer"}


def test_a_sensitive_notes_gesture_idea_names_no_illness(client, frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Her husband has cancer", is_sensitive=True)
    idea = gesture_idea(note)
    assert idea.summary == "Gesture idea: A handwritten card"
    client.force_login(frontline)
    form_url = client.post(reverse("suggestion-accept", args=[idea.pk])).url
    assert "cancer" not in form_url and "husband" not in form_url
    assert form_values(client.get(form_url, follow=True))["description"] == "A handwritten card"
