"""Personal notes (with history and sensitivity), suggestions and follow-ups."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import FollowUp, Note, Suggestion
from customers.services import follow_up_complete, note_create, suggestion_accept
from tests.crm.factories import UserFactory
from tests.customers.factories import FollowUpFactory

pytestmark = pytest.mark.postgres


def test_saving_a_note_proposes_but_creates_nothing(frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick, vet on Tuesday")
    assert [s.kind for s in note.suggestions.all()] == ["follow_up", "follow_up", "gesture", "person"]
    assert not customer.follow_ups.exists() and not customer.people.exists() and not customer.gestures.exists()


def test_accepting_a_suggestion_creates_the_follow_up_linked_to_its_note(client, frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick")
    suggestion = note.suggestions.get(kind="follow_up")
    client.force_login(frontline)
    response = client.post(reverse("suggestion-accept", args=[suggestion.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "brief-changed"
    follow_up = customer.follow_ups.get()
    assert (follow_up.prompt, follow_up.due, follow_up.note) == ("Ask how Rex is feeling", "next_visit", note)
    # a second click (double tap, resent form) creates nothing more
    again = client.post(reverse("suggestion-accept", args=[suggestion.pk]), headers={"HX-Request": "true"})
    assert "already dealt with" in again.content.decode()
    assert customer.follow_ups.count() == 1


def test_accepting_date_and_pet_suggestions(frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Just got engaged! Her new puppy Milo is sick")
    for suggestion in note.suggestions.all():
        suggestion_accept(suggestion=suggestion, user=frontline)
    assert customer.important_dates.get().kind == "engagement"
    assert customer.people.get().label == "Milo (dog)"


def test_ignoring_a_suggestion_creates_nothing(client, frontline, customer):
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick")
    client.force_login(frontline)
    for suggestion in note.suggestions.all():
        client.post(reverse("suggestion-ignore", args=[suggestion.pk]))
    assert set(note.suggestions.values_list("status", flat=True)) == {Suggestion.Status.IGNORED}
    assert not customer.follow_ups.exists()


def test_an_open_follow_up_is_not_proposed_again(frontline, customer):
    FollowUpFactory(customer=customer, prompt="Ask how Rex is feeling")
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick")
    assert not note.suggestions.filter(kind="follow_up").exists()


def test_note_is_edited_by_its_author_or_a_manager_with_history_kept(client, frontline, manager, customer, location):
    note = note_create(customer=customer, author=frontline, text="Rex is sick")
    colleague = UserFactory(role="frontline", locations=[location])
    client.force_login(colleague)
    assert client.post(reverse("note-edit", args=[note.pk]), {"text": "hacked"}).status_code == 403
    client.force_login(manager)
    client.post(reverse("note-edit", args=[note.pk]), {"text": "Rex is recovering"})
    note.refresh_from_db()
    assert note.text == "Rex is recovering"
    history = list(note.history.order_by("history_date"))
    assert [h.text for h in history] == ["Rex is sick", "Rex is recovering"]
    assert [h.history_user for h in history] == [frontline, manager]
    page = client.get(reverse("note-history", args=[note.pk])).content.decode()
    assert "Rex is sick" in page and "Rex is recovering" in page


def test_sensitive_note_shows_only_to_staff_of_the_customers_locations(
    client, frontline, manager, customer, other_location
):
    note_create(customer=customer, author=frontline, text="Going through a divorce", is_sensitive=True)
    note_create(customer=customer, author=frontline, text="Likes round frames")
    outsider = UserFactory(role="manager", locations=[other_location])
    client.force_login(outsider)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "Likes round frames" in page and "divorce" not in page
    sensitive = Note.objects.get(is_sensitive=True)
    assert client.get(reverse("note-history", args=[sensitive.pk])).status_code == 404
    client.force_login(manager)  # works at the customer's location
    assert "Going through a divorce" in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()


def test_note_past_its_relevant_until_fades_from_the_brief_but_stays_in_the_timeline(
    client, frontline, customer, time_at
):
    time_at(datetime.datetime(2026, 6, 1, 15, tzinfo=datetime.UTC))
    note_create(
        customer=customer,
        author=frontline,
        text="Engaged! Wedding on 14 June",
        relevant_until=datetime.date(2026, 6, 14),
    )
    client.force_login(frontline)
    url = reverse("customer-detail", args=[customer.pk])
    assert len(client.get(url).context["recent_notes"]) == 1
    time_at(datetime.datetime(2026, 6, 20, 15, tzinfo=datetime.UTC))
    client.force_login(frontline)  # the earlier session has expired by then
    response = client.get(url)
    assert response.context["recent_notes"] == []
    assert any(entry.kind == "note" for entry in response.context["timeline"].object_list)


def test_done_with_an_outcome_becomes_a_personal_note(client, frontline, customer):
    follow_up = FollowUpFactory(customer=customer, prompt="Ask how Rex is feeling")
    client.force_login(frontline)
    client.post(reverse("follow-up-done", args=[follow_up.pk]), {"outcome": "Rex is fine now"})
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE and follow_up.closed_by == frontline
    assert follow_up.outcome_note.text == "Rex is fine now"


def test_a_follow_up_is_closed_once(frontline, customer):
    follow_up = FollowUpFactory(customer=customer)
    follow_up_complete(follow_up=follow_up, user=frontline)
    with pytest.raises(ValidationError, match="already closed"):
        follow_up_complete(follow_up=follow_up, user=frontline)


def test_dismissed_follow_up_leaves_the_brief(client, frontline, customer):
    follow_up = FollowUpFactory(customer=customer)
    client.force_login(frontline)
    client.post(reverse("follow-up-dismiss", args=[follow_up.pk]))
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DISMISSED
    assert client.get(reverse("customer-detail", args=[customer.pk])).context["ask_about"] == []


def test_dated_follow_up_needs_a_date(client, frontline, customer):
    client.force_login(frontline)
    response = client.post(
        reverse("follow-up-create", args=[customer.pk]),
        {"prompt": "Call about the lenses", "due": "on_date", "location": customer.home_location.pk},
    )
    assert "Give the day it is due" in str(response.context["form"].errors)
    assert not customer.follow_ups.exists()


def test_follow_up_for_the_whole_location_and_for_one_person(client, frontline, customer, location):
    client.force_login(frontline)
    url = reverse("follow-up-create", args=[customer.pk])
    client.post(url, {"prompt": "Ask about the trip", "due": "next_visit", "location": location.pk})
    client.post(
        url,
        {
            "prompt": "Call back",
            "due": "on_date",
            "due_date": "2026-12-01",
            "location": location.pk,
            "assignee": frontline.pk,
        },
    )
    whole, mine = customer.follow_ups.order_by("pk")
    assert whole.assignee is None and mine.assignee == frontline and mine.due_date == datetime.date(2026, 12, 1)


def test_an_older_suggestion_never_makes_a_second_identical_follow_up(frontline, customer):
    first = note_create(customer=customer, author=frontline, text="Her dog Rex is sick")
    second = note_create(customer=customer, author=frontline, text="Rex, her dog, is still sick")
    assert not second.suggestions.filter(kind="follow_up").exists()  # already waiting on the first note
    suggestion_accept(suggestion=first.suggestions.get(kind="follow_up"), user=frontline)
    FollowUp.objects.filter(customer=customer).update(prompt="Ask how Rex is feeling")
    again = note_create(customer=customer, author=frontline, text="Her dog Rex is sick again")
    assert not again.suggestions.filter(kind="follow_up").exists()
    assert customer.follow_ups.count() == 1


def test_save_ask_next_visit_takes_the_readers_follow_up(client, frontline, customer):
    from customers.models import FollowUp

    client.force_login(frontline)
    response = client.post(
        reverse("note-create", args=[customer.pk]),
        {"text": "Her dog Rex is sick, vet on Tuesday", "ask_next_visit": "1"},
        HTTP_HX_REQUEST="true",
    )
    follow_up = customer.follow_ups.get()
    assert follow_up.prompt == "Ask how Rex is feeling" and follow_up.due == FollowUp.Due.NEXT_VISIT
    assert follow_up.note == customer.notes.get()
    assert "Next visit: <strong>Ask how Rex is feeling</strong>" in response.content.decode()
    # The reader's next-visit suggestion was taken; its dated one (the vet) still waits to be accepted.
    suggestions = customer.notes.get().suggestions.filter(kind="follow_up")
    assert suggestions.get(status="accepted").payload["due"] == "next_visit"
    assert all(s.payload["due"] == "on_date" for s in suggestions.filter(status="open"))


def test_save_ask_next_visit_uses_the_notes_gist_when_the_reader_found_nothing(client, frontline, customer):
    client.force_login(frontline)
    client.post(
        reverse("note-create", args=[customer.pk]),
        {"text": "Prefers the tortoiseshell frames over the black ones. Came with her sister.", "ask_next_visit": "1"},
    )
    assert customer.follow_ups.get().prompt == "Ask about: Prefers the tortoiseshell frames over the black ones"


def test_plain_save_makes_no_follow_up(client, frontline, customer):
    client.force_login(frontline)
    client.post(reverse("note-create", args=[customer.pk]), {"text": "Prefers tortoiseshell frames"})
    assert not customer.follow_ups.exists()


def test_note_gist_is_the_first_sentence_cut_at_a_word():
    from customers.services import note_gist

    assert note_gist("Loves jazz. Plays the sax") == "Loves jazz"
    assert note_gist("first line\nsecond line") == "first line"
    long = note_gist("word " * 40)
    assert long.endswith("…") and len(long) <= 81 and "  " not in long


@pytest.mark.parametrize(
    ("prompt", "placeholder"),
    [
        ("Ask how Rex is feeling", "Optional: what they said when you asked how Rex is feeling"),
        ("Ask how the wedding went", "Optional: what they said when you asked how the wedding went"),
        ("Congratulate them on the new job", "Optional: what they told you"),
    ],
)
def test_the_done_form_asks_about_its_own_follow_up(client, frontline, customer, prompt, placeholder):
    follow_up = FollowUpFactory(customer=customer, prompt=prompt)
    client.force_login(frontline)
    page = client.get(reverse("follow-up-done", args=[follow_up.pk]))
    assert page.context["form"].fields["outcome"].widget.attrs["placeholder"] == placeholder
    assert "Rex is fine now" not in page.text


def test_a_private_follow_ups_done_form_gives_nothing_away():
    from customers.access import PRIVATE_FOLLOW_UP
    from customers.forms import outcome_placeholder

    # The view passes the prompt as this user may read it: "Follow up on a private note" when private.
    assert outcome_placeholder(PRIVATE_FOLLOW_UP) == "Optional: what they told you"


def test_a_wedding_known_to_the_month_opens_the_date_form_to_add_the_day(client, frontline, customer, time_at):
    time_at(datetime.datetime(2026, 11, 22, 15, 0, tzinfo=datetime.UTC))
    note = note_create(customer=customer, author=frontline, text="Just got engaged, wedding in June")
    wedding = note.suggestions.get(kind="date", rule="wedding")
    assert wedding.payload == {"kind": "wedding", "month": 6, "day": None, "year": 2027, "label": ""}
    assert wedding.summary == "Add important date: Wedding anniversary in June 2027 (say which day)"
    follow_up = note.suggestions.get(kind="follow_up", rule="wedding")
    assert (follow_up.payload["due"], follow_up.payload["due_date"]) == ("on_date", "2027-07-01")
    client.force_login(frontline)

    response = client.post(reverse("suggestion-accept", args=[wedding.pk]))

    assert response.status_code == 302
    form = client.get(response.url).context["form"]
    assert (form["kind"].value(), str(form["month"].value()), str(form["year"].value())) == ("wedding", "6", "2027")
    assert not customer.important_dates.exists()  # the day is still to be said
    engagement = note.suggestions.get(kind="date", rule="engagement")
    client.post(reverse("suggestion-accept", args=[engagement.pk]))
    assert customer.important_dates.get().when == "22 November 2026"


def test_the_note_is_read_in_its_locations_own_day(frontline, customer, location, time_at):
    # 12:00 UTC on 31 December is already 1 January in Auckland (and still 31 December in New York).
    location.timezone = "Pacific/Auckland"
    location.save(update_fields=["timezone"])
    time_at(datetime.datetime(2026, 12, 31, 12, 0, tzinfo=datetime.UTC))
    note = note_create(customer=customer, author=frontline, text="Moving house tomorrow")
    assert note.suggestions.get(kind="follow_up").payload["due_date"] == "2027-01-03"  # the day after 2 January


def test_saving_a_note_with_htmx_shows_its_suggestions_and_an_empty_form(client, frontline, customer):
    client.force_login(frontline)
    response = client.post(
        reverse("note-create", args=[customer.pk]), {"text": "Her dog Rex is sick"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.headers["HX-Trigger"] == "brief-changed"
    note = customer.notes.get()
    shown = {f'id="suggestion-{s.pk}"' for s in note.suggestions.filter(status="open")}
    assert shown and all(marker in body for marker in shown)
    assert '<textarea name="text"' in body and "Her dog Rex" not in body.split("<textarea")[1]


def test_a_refused_note_keeps_what_was_typed_with_each_error_beside_its_field(client, frontline, customer):
    client.force_login(frontline)
    response = client.post(
        reverse("note-create", args=[customer.pk]),
        {"text": "x" * 4001, "is_sensitive": "on", "relevant_until": "not a day"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert not customer.notes.exists()
    text_field = body.split('id="div_id_text"')[1].split('id="div_id_is_sensitive"')[0]
    assert "is-invalid" in text_field and "at most 4000 characters" in text_field and "x" * 4001 in text_field
    until_field = body.split('id="div_id_relevant_until"')[1]
    assert 'value="not a day"' in until_field and "Enter a valid date" in until_field
    assert 'id="id_is_sensitive" checked' in body


def test_the_note_form_carries_the_readers_own_csrf_token_only(client, frontline, manager, customer):
    # The form's fields were once cached as crispy renders them, with the first reader's token inside.
    client.force_login(frontline)
    client.get(reverse("customer-detail", args=[customer.pk]))
    client.force_login(manager)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    form = page.split('id="note-form-area"')[1].split("</form>")[0]
    assert form.count('name="csrfmiddlewaretoken"') == 1
