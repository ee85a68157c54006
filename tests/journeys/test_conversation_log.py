"""Logging a conversation or visit from the customer page."""

import pytest
from django.urls import reverse

from customers.models import FollowUp
from journeys.models import Interaction

pytestmark = pytest.mark.postgres


def log(client, customer, location, **fields):
    data = {
        "kind": "visit",
        "touchpoint": 8,
        "location": location.pk,
        "summary": "",
        "sentiment": 0,
        "follow_up_due": "next_visit",
    }
    from journeys.models import Touchpoint

    data["touchpoint"] = Touchpoint.objects.get(slug="in-store").pk
    data.update(fields)
    return client.post(reverse("interaction-log", args=[customer.pk]), data, headers={"HX-Request": "true"})


def test_logging_a_visit_with_a_note_shows_suggestions_in_place(client, frontline, customer, location):
    client.force_login(frontline)
    response = log(client, customer, location, note_text="Her dog Rex is sick, vet on Tuesday")
    body = response.content.decode()
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "brief-changed"
    assert "Ask how Rex is feeling" in body and "<html" not in body
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.staff, interaction.location) == ("visit", frontline, location)
    customer.refresh_from_db()
    assert customer.visit_count == 1 and customer.last_visit_location == location
    assert customer.notes.get().text == "Her dog Rex is sick, vet on Tuesday"


def test_log_with_a_follow_up_links_it_to_the_note(client, frontline, customer, location):
    client.force_login(frontline)
    log(
        client,
        customer,
        location,
        kind="conversation",
        summary="Phone call",
        note_text="Moving house soon",
        follow_up_prompt="Ask about the new house",
        follow_up_due="on_date",
        follow_up_due_date="2026-12-01",
    )
    follow_up = customer.follow_ups.get()
    assert follow_up.note == customer.notes.get() and follow_up.due == FollowUp.Due.ON_DATE


def test_a_conversation_that_says_nothing_is_refused_and_nothing_is_saved(client, frontline, customer, location):
    client.force_login(frontline)
    response = log(
        client, customer, location, kind="conversation", follow_up_prompt="Call back", follow_up_due="on_date"
    )
    body = response.content.decode()
    assert "Say what you talked about" in body and "Give the day the follow-up is due" in body
    assert not Interaction.objects.exists() and not customer.follow_ups.exists()


def test_an_empty_log_is_refused_with_a_message_and_logs_no_visit(client, frontline, customer, location):
    client.force_login(frontline)
    body = log(client, customer, location).content.decode()
    assert "Say what happened, or add a note or a follow-up" in body
    assert not Interaction.objects.exists()
    customer.refresh_from_db()
    assert customer.visit_count == 0


def test_a_conversation_is_not_a_visit(client, frontline, customer, location):
    client.force_login(frontline)
    log(client, customer, location, kind="conversation", summary="Asked about lenses")
    customer.refresh_from_db()
    assert customer.visit_count == 0


def test_check_in_records_a_visit_at_the_staff_members_location(client, frontline, customer, location):
    client.force_login(frontline)
    client.post(reverse("customer-check-in", args=[customer.pk]))
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.touchpoint.slug, interaction.location) == ("visit", "in-store", location)


def test_a_second_check_in_within_ten_minutes_is_the_same_visit_and_the_button_says_when(
    client, frontline, customer, location, time_at
):
    import datetime

    location.timezone = "Pacific/Auckland"  # 10:56 there is 21:56 UTC the day before
    location.save(update_fields=["timezone"])
    client.force_login(frontline)
    time_at(datetime.datetime(2026, 11, 22, 21, 56, tzinfo=datetime.UTC))
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "Check in" in page and "Checked in" not in page
    client.post(reverse("customer-check-in", args=[customer.pk]))
    time_at(datetime.datetime(2026, 11, 22, 22, 5, tzinfo=datetime.UTC))  # nine minutes later: a double tap, Back
    again = client.post(reverse("customer-check-in", args=[customer.pk]), follow=True)
    assert Interaction.objects.count() == 1
    customer.refresh_from_db()
    assert customer.visit_count == 1
    page = again.content.decode()
    assert "already checked in at Downtown at 10:56" in page
    assert "Checked in 10:56" in page
    # Eleven minutes after the first tap it is a new visit, and the button is "Check in" again first.
    time_at(datetime.datetime(2026, 11, 22, 22, 7, tzinfo=datetime.UTC))
    assert "Checked in 10:56" not in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    client.post(reverse("customer-check-in", args=[customer.pk]))
    assert Interaction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_check_ins_at_the_same_moment_make_one_visit(frontline, customer):
    import threading

    from django.db import connection

    from journeys import services

    barrier = threading.Barrier(2)
    results = []

    def tap():
        try:
            barrier.wait(timeout=30)
            results.append(services.customer_check_in(customer=customer, staff=frontline)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, True]
    assert Interaction.objects.filter(customer=customer).count() == 1
