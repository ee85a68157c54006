"""A sensitive note never leaves the staff of the location where it was written.

Bella's home is Riverside (location B), where her sensitive notes are written; a visit at Downtown
(A) makes Downtown know her too. Her sensitive notes, and the follow-ups written from them, carry
a phrase found nowhere else. Staff of Riverside read it on her page; a frontline member of staff
at Downtown, a manager of Downtown and an owner who works at Downtown only (managers and owners
see every customer, not every sensitive note) never meet the phrase:
not in search, her page, the timeline, the home page, the inbox, follow-up pages, the loyalty
dashboard, the micro-CX pages, the marketing export, the start-of-shift emails, the
notifications, nor in any log line written while notes are made, edited and read and while
the reminder sweep and the digests run.
"""

import csv
import datetime
import io
import logging
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from crm.inbox import digests, reminders
from crm.inbox.models import Notification
from customers.access import PRIVATE_FOLLOW_UP, PRIVATE_NOTE
from customers.models import FollowUp, Note
from customers.services import follow_up_create, note_create, note_update
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record
from microcx.services import budget_create, ensure_default_rules, gesture_deliver, gesture_propose
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres

PHRASE = "kestrel-9417"
NOW = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.UTC)  # 10:00 in New York, after the digest time
OPEN_NOTE = "Loves the new round frames"


def make_story(client, *, location, other_location, frontline, manager, owner, time_at) -> dict:
    """Build Bella's story through the pages staff use, and return who and what is in it."""
    ensure_default_rules()
    bea = UserFactory(role="frontline", username="bea", locations=[other_location])
    UserFactory(role="manager", username="bruno", locations=[other_location])
    olive = UserFactory(role="owner", username="olive", locations=[location])  # an owner of Downtown only
    time_at(NOW - datetime.timedelta(days=2))
    bella = CustomerFactory(
        first_name="Bella", last_name="Brun", home_location=other_location, consent_email_at=datetime.date(2026, 1, 5)
    )
    # She used to come every 50 days and has not been in for 200: the dashboard lists her as drifting.
    for days_ago in (400, 350, 300, 250, 200):
        Interaction.objects.create(
            customer=bella,
            touchpoint=Touchpoint.objects.get(slug="in-store"),
            location=other_location,
            kind=Interaction.Kind.VISIT,
            occurred_at=NOW - datetime.timedelta(days=days_ago),
        )
    note_create(customer=bella, author=bea, text=OPEN_NOTE)
    time_at(NOW - datetime.timedelta(days=1))
    # A note once sensitive, later made ordinary: its first wording stays in the history.
    unmarked = note_create(customer=bella, author=bea, text=f"Old worry, {PHRASE}", is_sensitive=True)
    note_update(note=unmarked, editor=bea, text="All fine now", is_sensitive=False, relevant_until=None)
    time_at(NOW)

    # Riverside's frontline writes a sensitive note, accepts its suggestion and edits the note.
    client.force_login(bea)
    client.post(
        reverse("note-create", args=[bella.pk]),
        {"text": f"Her husband is in hospital again, {PHRASE}", "is_sensitive": "on"},
    )
    sensitive = Note.objects.get(customer=bella, is_sensitive=True)
    suggestion = sensitive.suggestions.get(kind="follow_up")
    client.post(reverse("suggestion-accept", args=[suggestion.pk]))
    client.post(
        reverse("note-edit", args=[sensitive.pk]),
        {"text": f"Her husband is in hospital again, {PHRASE}; surgery Friday", "is_sensitive": "on"},
    )
    follow_up_b = follow_up_create(
        customer=bella,
        created_by=bea,
        prompt=f"Check on {PHRASE}",
        due="on_date",
        due_date=NOW.date(),
        location=other_location,
        note=sensitive,
    )
    # A visit recorded at Downtown (long ago, by the owner who works at both shops) makes Downtown
    # know her, but never lets Downtown read what she told Riverside in confidence. The owner
    # leaves a follow-up from the sensitive note for Downtown's staff.
    interaction_record(
        customer=bella,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=owner,
        kind=Interaction.Kind.VISIT,
        occurred_at=NOW - datetime.timedelta(days=210),
    )
    follow_up_a = follow_up_create(
        customer=bella,
        created_by=owner,
        prompt=f"Ask gently about {PHRASE}",
        due="on_date",
        due_date=NOW.date(),
        location=location,
        note=sensitive,
    )
    assert bella.locations.filter(pk=location.pk).exists()  # a visit still counts as a visit

    # Gestures at Riverside: one waiting for a manager (from the sensitive follow-up), one delivered
    # (inspired by the sensitive note).
    budget_create(location=other_location, period="month", day=NOW.date(), amount=Decimal("200"), by=None)
    pending, _ = gesture_propose(
        customer=bella,
        proposer=bea,
        location=other_location,
        category="flowers",
        description="Flowers for the two of them",
        amount=Decimal("60"),
        idempotency_key=uuid.uuid4(),
        confirmed_genuine=True,
        follow_up=follow_up_b,
    )
    delivered, _ = gesture_propose(
        customer=bella,
        proposer=bea,
        location=other_location,
        category="card",
        description="A handwritten card",
        amount=Decimal("0"),
        idempotency_key=uuid.uuid4(),
        confirmed_genuine=True,
        note=sensitive,
    )
    gesture_deliver(gesture=delivered, by=bea, delivered_on=NOW.date())
    client.logout()
    return {
        "bella": bella,
        "bea": bea,
        "olive": olive,
        "sensitive": sensitive,
        "unmarked": unmarked,
        "follow_up_a": follow_up_a,
        "follow_up_b": follow_up_b,
        "pending": pending,
        "delivered": delivered,
        "viewers": {"frontline of A": frontline, "manager of A": manager, "owner of A only": olive},
    }


@pytest.fixture
def story(client, location, other_location, frontline, manager, owner, time_at):
    story = make_story(
        client,
        location=location,
        other_location=other_location,
        frontline=frontline,
        manager=manager,
        owner=owner,
        time_at=time_at,
    )
    reminders.sweep()
    return story


def pages(story) -> list[str]:
    bella = story["bella"]
    return [
        reverse("customer-list") + "?q=bella",
        reverse("customer-list"),
        reverse("customer-detail", args=[bella.pk]),
        reverse("customer-timeline", args=[bella.pk]),
        reverse("home"),
        reverse("inbox"),
        reverse("inbox") + "?show=all",
        reverse("follow-up-done", args=[story["follow_up_a"].pk]),
        reverse("follow-up-done", args=[story["follow_up_b"].pk]),
        reverse("note-history", args=[story["unmarked"].pk]),
        reverse("note-history", args=[story["sensitive"].pk]),
        reverse("note-edit", args=[story["sensitive"].pk]),
        reverse("loyalty-dashboard"),
        reverse("loyalty-customers") + "?figure=drifting",
        reverse("microcx"),
        reverse("gesture-propose", args=[bella.pk]),
        reverse("gesture-propose", args=[bella.pk]) + f"?note={story['sensitive'].pk}",
        reverse("gesture-propose", args=[bella.pk]) + f"?follow_up={story['follow_up_b'].pk}",
        reverse("gesture-queue"),
        reverse("gesture-detail", args=[story["pending"].pk]),
        reverse("gesture-detail", args=[story["delivered"].pk]),
        reverse("monthly-review"),
        reverse("spend-report"),
        reverse("customer-export"),
    ]


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_staff_of_the_customers_location_read_the_sensitive_note(client, story):
    client.force_login(story["bea"])
    page = body(client.get(reverse("customer-detail", args=[story["bella"].pk])))
    assert PHRASE in page and OPEN_NOTE in page
    assert f"Check on {PHRASE}" in page  # the follow-up's own words, for those who may read the note


@pytest.mark.parametrize("viewer", ["frontline of A", "manager of A", "owner of A only"])
def test_sensitive_note_never_reaches_staff_outside_its_locations(client, story, viewer):
    client.force_login(story["viewers"][viewer])
    seen = {}
    for url in pages(story):
        response = client.get(url, follow=True)  # the gesture form first gives itself a key (?form=...)
        assert response.status_code in (200, 403, 404), f"{viewer} GET {url}: {response.status_code}"
        seen[url] = body(response)
        assert PHRASE not in seen[url], f"{viewer} read the sensitive note on {url}"
    for query in (PHRASE, "kestrel", "hospital"):  # search never matches note text (the box echoes the query)
        response = client.get(reverse("customer-list"), {"q": query})
        assert response.status_code == 200 and list(response.context["results"]) == []
    home = seen[reverse("home")]
    assert PRIVATE_FOLLOW_UP in home  # Downtown's follow-up from the sensitive note, without its words
    if viewer != "frontline of A":  # managers and owners see Bella and what is not sensitive
        assert "Bella" in seen[reverse("customer-list") + "?q=bella"]
        detail = seen[reverse("customer-detail", args=[story["bella"].pk])]
        assert OPEN_NOTE in detail and PRIVATE_FOLLOW_UP in detail
        assert PRIVATE_NOTE in seen[reverse("gesture-detail", args=[story["delivered"].pk])]
        assert PRIVATE_FOLLOW_UP in seen[reverse("gesture-detail", args=[story["pending"].pk])]
        assert OPEN_NOTE in seen[reverse("gesture-queue")]
        assert PRIVATE_NOTE in seen[reverse("note-history", args=[story["unmarked"].pk])]
        assert "Bella" in seen[reverse("customer-export")]
    if viewer == "owner of A only":
        dashboard = seen[reverse("loyalty-dashboard")]
        assert "Bella" in dashboard and OPEN_NOTE in dashboard and PRIVATE_FOLLOW_UP in dashboard


def test_the_marketing_export_carries_the_latest_note_that_is_not_sensitive(client, story):
    client.force_login(story["olive"])
    rows = list(csv.DictReader(io.StringIO(body(client.get(reverse("customer-export"))))))
    [row] = [row for row in rows if row["first_name"] == "Bella"]
    assert row["latest_note"] == "All fine now"


def test_reminders_and_emails_say_a_private_note_with_a_link(story, frontline, manager, time_at):
    texts = [f"{n.title} {n.body}" for n in Notification.objects.all()]
    assert texts and not [text for text in texts if PHRASE in text]
    assert Notification.objects.filter(recipient=frontline, title__startswith=PRIVATE_FOLLOW_UP).exists()
    assert Notification.objects.filter(recipient=story["bea"], title__startswith=PRIVATE_FOLLOW_UP).exists()
    for pk in digests.digests_due():
        digests.digest_send(digest_id=pk)
    emails = {email.to[0]: email for email in mail.outbox}
    assert {frontline.email, manager.email, story["bea"].email} <= set(emails)
    for email in mail.outbox:
        assert PHRASE not in email.subject + email.body, f"the email to {email.to} carries the sensitive note"
    link = f"{settings.SITE_URL}{reverse('customer-detail', args=[story['bella'].pk])}"
    for user in (frontline, story["bea"]):
        text = emails[user.email].body
        assert f"{PRIVATE_FOLLOW_UP} (Bella)" in text and link in text
        assert "a private note" in text


def test_a_note_marked_sensitive_after_its_reminder_hides_in_the_inbox_and_email(
    client, location, other_location, frontline, customer, time_at
):
    time_at(NOW)
    note = note_create(customer=customer, author=frontline, text="Her mother is unwell")
    follow_up_create(
        customer=customer,
        created_by=frontline,
        prompt=f"Ask about her mother, {PHRASE}",
        due="on_date",
        due_date=NOW.date(),
        location=location,
        note=note,
    )
    reminders.sweep()
    assert PHRASE in Notification.objects.get(recipient=frontline).title  # not sensitive yet
    note_update(note=note, editor=frontline, text=note.text, is_sensitive=True, relevant_until=None)
    outsider = UserFactory(role="frontline", locations=[other_location])  # may not read Anna's sensitive notes
    Notification.objects.filter(recipient=frontline).update(recipient=outsider)
    client.force_login(outsider)
    inbox = client.get(reverse("inbox")).content.decode()
    assert PHRASE not in inbox and PRIVATE_FOLLOW_UP in inbox
    assert PHRASE not in client.get(reverse("home")).content.decode()
    for pk in digests.digests_due():
        digests.digest_send(digest_id=pk)
    assert mail.outbox and not [e for e in mail.outbox if PHRASE in e.body]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_nothing_sensitive_is_written_to_the_logs(
    client, caplog, settings, location, other_location, frontline, manager, owner, time_at, debug
):
    settings.DEBUG = debug
    caplog.set_level(logging.DEBUG)
    story = make_story(
        client,
        location=location,
        other_location=other_location,
        frontline=frontline,
        manager=manager,
        owner=owner,
        time_at=time_at,
    )
    for viewer in [story["bea"], *story["viewers"].values()]:
        client.force_login(viewer)
        for url in pages(story):
            body(client.get(url, follow=True))
    reminders.sweep()
    for pk in digests.digests_due():
        digests.digest_send(digest_id=pk)
    # (Django's own "django" logger stays at INFO whatever LOG_LEVEL says, so its DEBUG lines,
    # the SQL statements with their parameters, are not written even with DEBUG on.)
    assert caplog.records, "nothing was logged: the capture is not working"
    logged = "\n".join(logging.Formatter("%(name)s %(message)s").format(record) for record in caplog.records)
    assert PHRASE not in logged


@pytest.mark.parametrize("action", ["follow-up-take", "follow-up-dismiss"])
def test_taking_or_dismissing_a_private_follow_up_keeps_its_words_out_of_the_message(client, story, action):
    from django.contrib.messages import get_messages

    private = FollowUp.objects.filter(note=story["sensitive"]).first()
    assert private is not None and PHRASE in private.prompt
    client.force_login(story["viewers"]["manager of A"])
    response = client.post(reverse(action, kwargs={"follow_up_pk": private.pk}))
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert said and PHRASE not in said
