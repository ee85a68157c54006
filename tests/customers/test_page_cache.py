"""The customer page from the cache (customers/page_cache.py): never stale after a write, same audit, fewer queries."""

import contextlib
import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.inbox.models import Notification
from crm.inbox.notifications import notification_mark, notifications_raise
from customers.models import FollowUp, ImportantDate, Person, Tag
from customers.services import (
    customer_archive,
    customer_restore,
    follow_up_complete,
    follow_up_create,
    follow_up_dismiss,
    follow_up_take,
    important_date_delete,
    important_date_save,
    note_create,
    note_update,
    person_save,
    tag_save,
)
from journeys.models import CustomerPersona, Interaction, Persona, Touchpoint
from journeys.services import customer_check_in, interaction_record
from journeys.services_manage import persona_assign, touchpoint_save
from microcx.services import budget_create, ensure_default_rules, gesture_approve
from outreach.services import customer_unsubscribe
from tests.crm.factories import UserFactory
from tests.microcx.factories import propose_gesture

NOW = datetime.datetime(2026, 6, 10, 15, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _pages(client, customer) -> list[str]:
    """The customer page, the brief alone, the first timeline page, Today and the inbox (also cached:
    crm.inbox.views), without the per-view CSRF token."""
    urls = [
        (reverse("customer-detail", args=[customer.pk]), {}),
        (reverse("customer-brief", args=[customer.pk]), {"HTTP_HX_REQUEST": "true"}),
        (reverse("customer-timeline", args=[customer.pk]), {"HTTP_HX_REQUEST": "true"}),
        (reverse("home"), {}),
        (reverse("inbox"), {}),
        (reverse("inbox") + "?show=all", {}),
    ]
    pages = []
    for url, headers in urls:
        response = client.get(url, **headers)
        assert response.status_code == 200
        pages.append(CSRF.sub("csrf", response.content.decode()))
    return pages


def _approver(manager) -> Client:
    """A second browser, the manager's: their Today shows what waits for their approval."""
    approver = Client()
    approver.force_login(manager)
    return approver


def _today(client, customer=None) -> str:
    """Today and the inbox, as a manager sees them (gestures waiting for their approval on both), and with a
    customer the manager's customer page too (it shows the journey section, which frontline staff do not see)."""
    names = [reverse(name) for name in ("home", "inbox")]
    if customer is not None:
        names.append(reverse("customer-detail", args=[customer.pk]))
    return "".join(CSRF.sub("csrf", client.get(url).content.decode()) for url in names)


class World:
    """What the generated writes act on."""

    def __init__(self, customer, frontline, manager, location):
        self.customer, self.frontline, self.manager, self.location = customer, frontline, manager, location
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n

    def open_follow_up(self):
        return FollowUp.objects.filter(customer=self.customer, status=FollowUp.Status.OPEN).order_by("pk").first()


def _note(w):
    note_create(customer=w.customer, author=w.frontline, text=f"Talked about frames {w.next()}")


def _sensitive_note(w):
    note_create(customer=w.customer, author=w.manager, text=f"Told us in confidence {w.next()}", is_sensitive=True)


def _note_edit(w):
    note = w.customer.notes.order_by("-pk").first()
    if note is not None:
        note_update(note=note, editor=w.manager, text=f"Edited {w.next()}", is_sensitive=False, relevant_until=None)


def _follow_up(w):
    follow_up_create(customer=w.customer, created_by=w.frontline, prompt=f"Ask about the trip {w.next()}")


def _follow_up_due_today(w):
    follow_up_create(
        customer=w.customer,
        created_by=w.frontline,
        prompt=f"Call about the order {w.next()}",
        due=FollowUp.Due.ON_DATE,
        due_date=NOW.date(),
    )


def _reminder(w):
    """A reminder raised for the reader (Today lists them)."""
    notifications_raise(
        notifications=[
            Notification(
                recipient=w.frontline,
                kind=Notification.Kind.KEEP_IN_TOUCH,
                customer=w.customer,
                occurrence=NOW.date() - datetime.timedelta(days=w.next()),
                title=f"Time to get in touch {w.n}",
            )
        ]
    )


def _reminder_done(w):
    if item := Notification.objects.filter(recipient=w.frontline, done_at__isnull=True).order_by("pk").first():
        notification_mark(notification=item, done=True)


def _follow_up_done(w):
    if follow_up := w.open_follow_up():
        follow_up_complete(follow_up=follow_up, user=w.frontline, outcome="Went well")


def _follow_up_dismissed(w):
    if follow_up := w.open_follow_up():
        follow_up_dismiss(follow_up=follow_up, user=w.frontline)


def _follow_up_taken(w):
    if (follow_up := w.open_follow_up()) and follow_up.assignee_id is None:
        follow_up_take(follow_up=follow_up, user=w.frontline)


def _date(w):
    on = NOW.date() + datetime.timedelta(days=w.next() % 20)
    important_date_save(
        important_date=ImportantDate(customer=w.customer, kind=ImportantDate.Kind.BIRTHDAY, month=on.month, day=on.day)
    )


def _date_deleted(w):
    if date := w.customer.important_dates.order_by("pk").first():
        important_date_delete(important_date=date)


def _person(w):
    person_save(person=Person(customer=w.customer, name=f"Mia {w.next()}", relation=Person.Relation.CHILD))


def _visit(w):
    interaction_record(
        customer=w.customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=w.location,
        staff=w.frontline,
        kind=Interaction.Kind.VISIT,
        occurred_at=NOW - datetime.timedelta(days=w.next()),
    )


def _check_in(w):
    customer_check_in(customer=w.customer, staff=w.frontline)


def _tag_added(w):
    w.customer.tags.add(Tag.objects.get_or_create(name=f"tag{w.next()}")[0])


def _tag_removed(w):
    if tag := w.customer.tags.first():
        tag.customers.remove(w.customer)


def _tag_renamed(w):
    if tag := w.customer.tags.first():
        tag.name = f"renamed{w.next()}"
        tag_save(tag=tag)


def _customer_edited(w):
    w.customer.refresh_from_db()
    w.customer.preferred_name = f"Ania {w.next()}"
    w.customer.save()


def _archived(w):
    w.customer.refresh_from_db()
    (customer_restore if w.customer.archived_at else customer_archive)(customer=w.customer)


def _gesture_approved(w):
    gesture = propose_gesture(customer=w.customer, proposer=w.frontline, location=w.location, amount="5")
    if gesture.status == gesture.Status.PENDING:
        gesture_approve(gesture=gesture, by=w.manager)


def _gesture_proposed(w):
    """A gesture over the frontline limit waits for a manager: on the manager's Today. One the rules refuse
    (the budget spent by earlier examples, say) writes nothing, which the comparison also holds for."""
    with contextlib.suppress(ValidationError):
        propose_gesture(customer=w.customer, proposer=w.frontline, location=w.location, amount="95")


def _unsubscribed(w):
    customer_unsubscribe(customer_id=w.customer.pk)


def _touchpoint_renamed(w):
    touchpoint = Touchpoint.objects.get(slug="in-store")
    touchpoint.name = f"Shop floor {w.next()}"
    touchpoint_save(touchpoint=touchpoint)


def _persona_assigned(w):
    """On the journey section, which managers see."""
    persona = Persona.objects.get_or_create(name="Regulars")[0]
    current = CustomerPersona.objects.filter(customer=w.customer).exists()
    persona_assign(customer=w.customer, persona=None if current else persona, by=w.manager)


def _location_renamed(w):
    w.location.name = f"Downtown {w.next()}"
    w.location.save()


WRITES = [
    _note,
    _sensitive_note,
    _note_edit,
    _follow_up,
    _follow_up_due_today,
    _reminder,
    _reminder_done,
    _follow_up_done,
    _follow_up_dismissed,
    _follow_up_taken,
    _date,
    _date_deleted,
    _person,
    _visit,
    _check_in,
    _tag_added,
    _tag_removed,
    _tag_renamed,
    _customer_edited,
    _archived,
    _gesture_approved,
    _gesture_proposed,
    _unsubscribed,
    _touchpoint_renamed,
    _persona_assigned,
    _location_renamed,
]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(st.sampled_from(WRITES), min_size=1, max_size=4))
def test_a_cached_page_is_never_stale_after_any_write(
    writes, client, frontline, manager, customer, location, frozen, django_capture_on_commit_callbacks
):
    ensure_default_rules()
    if not location.budgets.exists():
        budget_create(location=location, period="month", day=NOW.date(), amount=Decimal("1000"), by=None)
    customer.consent_email_at = NOW.date()
    customer.save()
    world = World(customer, frontline, manager, location)
    client.force_login(frontline)
    approver = _approver(manager)

    def pages():
        return [*_pages(client, customer), _today(approver, customer)]

    for write in writes:
        pages()  # in the cache
        with django_capture_on_commit_callbacks(execute=True):
            write(world)
        served = pages()
        cache.clear()
        fresh = pages()
        assert served == fresh, write.__name__


def _furnished_world(client, frontline, manager, customer, location) -> tuple[World, Client]:
    """A customer with a budget, consent, a tag, follow-ups, a note and a date; the frontline member signed in,
    and the manager's browser."""
    ensure_default_rules()
    budget_create(location=location, period="month", day=NOW.date(), amount=Decimal("1000"), by=None)
    customer.consent_email_at = NOW.date()
    customer.save()
    world = World(customer, frontline, manager, location)
    client.force_login(frontline)
    _tag_added(world), _follow_up(world), _follow_up_due_today(world), _note(world), _date(world)
    Persona.objects.create(name="Regulars")  # so that assigning it is a write to the customer alone
    return world, _approver(manager)


def test_every_write_kind_changes_some_page(client, frontline, manager, customer, location, frozen):
    """The generated writes are not idle: each one shows on the page (else the test above proves nothing)."""
    world, approver = _furnished_world(client, frontline, manager, customer, location)
    for write in WRITES:
        cache.clear()
        before = [*_pages(client, customer), _today(approver, customer)]
        write(world)
        cache.clear()
        assert [*_pages(client, customer), _today(approver, customer)] != before, write.__name__


def test_each_write_kind_in_turn_leaves_no_page_stale(
    client, frontline, manager, customer, location, frozen, django_capture_on_commit_callbacks
):
    """Every write kind once, in order, from a full cache: the generated sequences above, made exhaustive."""
    world, approver = _furnished_world(client, frontline, manager, customer, location)
    for write in [*WRITES, *reversed(WRITES)]:
        [*_pages(client, customer), _today(approver, customer)]  # in the cache
        with django_capture_on_commit_callbacks(execute=True):
            write(world)
        served = [*_pages(client, customer), _today(approver, customer)]
        cache.clear()
        assert served == [*_pages(client, customer), _today(approver, customer)], write.__name__


def test_a_new_note_leaves_today_and_the_inbox_cached_but_not_the_customer_page(
    client, frontline, customer, frozen, django_assert_max_num_queries
):
    client.force_login(frontline)
    follow_up_create(
        customer=customer, created_by=frontline, prompt="Ask about Rex", due="on_date", due_date=NOW.date()
    )
    for name in ("home", "inbox"):
        client.get(reverse(name))
    client.get(reverse("customer-detail", args=[customer.pk]))
    note_create(customer=customer, author=frontline, text="Rex is doing better")
    for name in ("home", "inbox"):
        with django_assert_max_num_queries(3):  # from the cache: nothing on them is about a new note
            assert client.get(reverse(name)).status_code == 200
    assert "Rex is doing better" in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()


def test_a_sensitive_note_served_from_the_cache_is_audited_on_every_view(client, frontline, manager, customer):
    note = note_create(customer=customer, author=manager, text="Going through a divorce", is_sensitive=True)
    client.force_login(frontline)
    url = reverse("customer-detail", args=[customer.pk])
    for _ in range(2):
        assert "Going through a divorce" in client.get(url).content.decode()
    for _ in range(2):
        client.get(reverse("customer-brief", args=[customer.pk]), HTTP_HX_REQUEST="true")
    views = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    assert views.count() == 4
    assert all(entry.additional_data["sensitive_notes"] == [note.pk] for entry in views)


def test_a_reader_who_may_not_read_a_confidence_never_gets_it_from_the_cache(
    client, frontline, manager, customer, other_location
):
    note_create(customer=customer, author=manager, text="Going through a divorce", is_sensitive=True)
    client.force_login(frontline)
    url = reverse("customer-detail", args=[customer.pk])
    assert "Going through a divorce" in client.get(url).content.decode()
    elsewhere = UserFactory(role="manager", username="max", locations=[other_location])
    customer.locations.add(other_location)
    client.force_login(elsewhere)
    page = client.get(url)
    assert page.status_code == 200 and "Going through a divorce" not in page.content.decode()


def test_the_customer_page_and_timeline_from_the_cache_run_few_queries(
    client, frontline, customer, location, django_assert_max_num_queries
):
    for i in range(30):
        note_create(customer=customer, author=frontline, text=f"note {i}")
    client.force_login(frontline)
    detail = reverse("customer-detail", args=[customer.pk])
    timeline = reverse("customer-timeline", args=[customer.pk])
    client.get(detail)
    client.get(timeline, {"page": 2}, HTTP_HX_REQUEST="true")
    with django_assert_max_num_queries(12):  # was 30: the signed-in request, the customer, the reader
        assert client.get(detail).status_code == 200
    with django_assert_max_num_queries(8):  # was 11
        page = client.get(timeline, {"page": 2}, HTTP_HX_REQUEST="true")
    assert "Page 2" in page.content.decode()


def test_a_bulk_change_renews_one_shared_token_not_a_token_a_customer(client, frontline, customer, frozen):
    """An import touching thousands of customers costs one cache write (on PostgreSQL's cache table, a
    token a customer was thousands of queries), and still leaves no page stale."""
    from customers import page_cache

    client.force_login(frontline)
    before = _pages(client, customer)
    shared = page_cache.tokens(customer.pk)[1]
    written = []
    real_set_many = cache.set_many

    def counting_set_many(data, *args, **kwargs):
        written.append(len(data))
        return real_set_many(data, *args, **kwargs)

    cache.set_many = counting_set_many
    try:
        page_cache.changed(customer.pk, *range(10**6, 10**6 + page_cache.BULK + 1))
    finally:
        del cache.set_many
    assert written == [1]  # the shared token (Today is keyed on it too), in one write (and again on commit)
    assert page_cache.tokens(customer.pk)[1] != shared
    assert _pages(client, customer) == before  # rendered again, the same page


def test_today_from_the_cache_runs_few_queries_and_its_clocks_move_each_minute(
    client, frontline, customer, location, django_assert_max_num_queries
):
    follow_up_create(
        customer=customer, created_by=frontline, prompt="Ask about Rex", due=FollowUp.Due.ON_DATE, due_date=NOW.date()
    )
    client.force_login(frontline)
    home = reverse("home")
    with time_machine.travel(NOW, tick=False):
        first = client.get(home).content.decode()
        with django_assert_max_num_queries(3):  # BEGIN, the session's user, COMMIT: no list is read
            again = client.get(home).content.decode()
        shown = location.local_now().strftime("%H:%M")
    assert "Ask about Rex" in again and CSRF.sub("csrf", again) == CSRF.sub("csrf", first)
    with time_machine.travel(NOW + datetime.timedelta(minutes=1), tick=False):
        later = client.get(home).content.decode()
    assert f"{shown} local" in first and f"{shown} local" not in later


def test_the_inbox_from_the_cache_runs_few_queries_and_follows_every_mark(
    client, frontline, customer, frozen, django_assert_max_num_queries
):
    reminder = Notification(
        recipient=frontline,
        kind=Notification.Kind.KEEP_IN_TOUCH,
        customer=customer,
        occurrence=NOW.date(),
        title="Ask about Rex",
    )
    notifications_raise(notifications=[reminder])
    client.force_login(frontline)
    inbox = reverse("inbox")
    first = client.get(inbox).content.decode()
    with django_assert_max_num_queries(3):  # BEGIN, the session's user, COMMIT: no list is read
        again = client.get(inbox).content.decode()
    assert "Ask about Rex" in again and CSRF.sub("csrf", again) == CSRF.sub("csrf", first)
    notification_mark(notification=Notification.objects.get(recipient=frontline), done=True)
    assert "Ask about Rex" not in client.get(inbox).content.decode()
    assert "Ask about Rex" in client.get(inbox + "?show=all").content.decode()
    for page in ("0", "x", "99999999999999999999", "-3"):
        assert client.get(inbox, {"page": page}).status_code == 200


def test_today_shows_a_location_the_moment_someone_is_given_it(client, frontline, other_location, frozen):
    client.force_login(frontline)
    assert other_location.name not in client.get(reverse("home")).content.decode()
    frontline.locations.add(other_location)
    assert other_location.name in client.get(reverse("home")).content.decode()


def test_only_the_first_pages_of_a_list_are_kept_so_page_numbers_cannot_fill_the_cache(
    client, frontline, customer, monkeypatch
):
    from customers import page_cache

    kept = []
    set_part = cache.set

    def spy(key, *args, **kwargs):
        if key.startswith("customer-page:") and ":v:" not in key:
            kept.append(key)
        return set_part(key, *args, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    client.force_login(frontline)
    pages = [
        (reverse("inbox"), {}, {}),
        (reverse("inbox"), {"show": "all"}, {}),
        (reverse("customer-detail", args=[customer.pk]), {}, {}),
        (reverse("customer-timeline", args=[customer.pk]), {}, {"HTTP_HX_REQUEST": "true"}),
    ]
    for url, query, headers in pages:
        for number in range(page_cache.CACHED_PAGES + 1, page_cache.CACHED_PAGES + 6):
            response = client.get(url, {**query, "page": number}, **headers)
            assert response.status_code == 200 and page_cache.CSRF_PLACEHOLDER not in response.content.decode()
    assert kept == []
    for url, query, headers in pages:
        client.get(url, {**query, "page": page_cache.CACHED_PAGES}, **headers)
    assert len(kept) == len(pages)


def test_the_cached_inbox_follows_a_reminder_edited_anywhere_and_one_taken(
    client, frontline, customer, location, frozen
):
    from crm.inbox import reminders

    colleague = UserFactory(role="frontline", locations=[location])
    follow_up = follow_up_create(
        customer=customer, created_by=frontline, prompt="Ask about the trip", due="on_date", due_date=NOW.date()
    )
    reminders.sweep()
    mine = Notification.objects.get(recipient=frontline, follow_up=follow_up)
    client.force_login(frontline)
    assert "Ask about the trip" in client.get(reverse("inbox")).content.decode()
    mine.title = "Ask about the holiday"  # as the admin saves it
    mine.save()
    assert "Ask about the holiday" in client.get(reverse("inbox")).content.decode()
    # The colleague is the last one it is still offered to; once they take it, their inbox stops offering it.
    notification_mark(notification=mine, done=True)
    take = f'action="{reverse("follow-up-take", args=[follow_up.pk])}"'
    client.force_login(colleague)
    assert take in client.get(reverse("inbox")).content.decode()
    follow_up_take(follow_up=follow_up, user=colleague)
    assert take not in client.get(reverse("inbox")).content.decode()


@pytest.fixture
def sections_worked_out():
    """The names of the notes-free sections whose context is worked out, in order (each slot wrapped, then put back)."""
    import dataclasses

    from customers.extensions import slots

    worked_out, originals = [], []
    for namespace in ("brief", "actions", "details"):
        for section in getattr(slots, namespace):
            if not section.shows_notes:

                def counted(customer, user, context=section.context, name=section.name):
                    worked_out.append(name)
                    return context(customer, user)

                originals.append((namespace, section))
                slots.register(namespace, dataclasses.replace(section, context=counted))
    yield worked_out
    for namespace, section in originals:
        slots.register(namespace, section)


def test_after_a_new_note_only_what_shows_notes_is_rendered_again(client, frontline, customer, sections_worked_out):
    """The other apps' sections that show nothing of notes (gestures, offers, the log form, "heard of us via") stay
    in the cache through a note or a suggestion written; any other change renders them again."""
    client.force_login(frontline)
    page = reverse("customer-detail", args=[customer.pk])
    client.get(page)
    assert {"gestures", "conversation_log", "heard_via"} <= set(sections_worked_out)
    sections_worked_out.clear()
    note_create(customer=customer, author=frontline, text="Just got engaged! Wedding in June")
    assert "Just got engaged" in client.get(page).content.decode()
    assert sections_worked_out == []
    customer.preferred_name = "Ania"
    customer.save()
    assert "Ania" in client.get(page).content.decode()
    assert {"gestures", "conversation_log", "heard_via"} <= set(sections_worked_out)


def _visit_logged(customer, staff, location, days_ago: int):
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=staff,
        kind=Interaction.Kind.VISIT,
        occurred_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def _entries_rendered(response) -> list[str]:
    return [t.name for t in response.templates if "timeline" in t.name and t.name != "customers/_timeline.html"]


def test_after_a_new_note_the_timeline_renders_that_note_alone(client, frontline, customer, location):
    """The timeline's entries but follow-ups are kept one by one: after a new note only it is loaded and rendered;
    a note edited, or anything else of the customer changed, renders them all again."""
    for days_ago in (3, 2, 1):
        _visit_logged(customer, frontline, location, days_ago)
    first = note_create(customer=customer, author=frontline, text="Rex had his operation")
    client.force_login(frontline)
    page = reverse("customer-detail", args=[customer.pk])
    assert (
        sorted(_entries_rendered(client.get(page)))
        == ["customers/timeline/note.html"] + ["journeys/timeline_interaction.html"] * 3
    )
    note_create(customer=customer, author=frontline, text="Rex is home again")
    after = client.get(page)
    assert _entries_rendered(after) == ["customers/timeline/note.html"]
    html = after.content.decode()
    assert html.index("Rex is home again") < html.index("Rex had his operation")
    assert html.count("In store") >= 3
    note_update(
        note=first, editor=frontline, text="Rex had his knee operation", is_sensitive=False, relevant_until=None
    )
    edited = client.get(page)
    assert "Rex had his knee operation" in edited.content.decode()
    assert _entries_rendered(edited).count("customers/timeline/note.html") == 2
    # The timeline page on its own keeps its entries the same way.
    timeline = reverse("customer-timeline", args=[customer.pk])
    client.get(timeline, HTTP_HX_REQUEST="true")
    note_create(customer=customer, author=frontline, text="Asked after Rex")
    assert _entries_rendered(client.get(timeline, HTTP_HX_REQUEST="true")) == ["customers/timeline/note.html"]


def test_a_kept_entry_of_a_sensitive_note_is_audited_on_every_view(client, frontline, manager, customer):
    """A sensitive note's entry from the cache (the page around it rendered again after a new note) is disclosed
    again, as if it had been rendered."""
    secret = note_create(customer=customer, author=manager, text="Going through a divorce", is_sensitive=True)
    for text in ("Likes the blue frames", "Back from holiday", "Asked about lenses"):
        note_create(customer=customer, author=manager, text=text)  # the brief's three recent notes
    client.force_login(frontline)
    url = reverse("customer-detail", args=[customer.pk])
    client.get(url)
    note_create(customer=customer, author=frontline, text="Picked up the new glasses")
    again = client.get(url)
    assert _entries_rendered(again) == ["customers/timeline/note.html"]
    assert "Going through a divorce" in again.content.decode()
    views = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("pk")
    assert [entry.additional_data["sensitive_notes"] for entry in views] == [[secret.pk], [secret.pk]]


KEPT_PARTS = ["customers/_brief_head.html", "customers/_brief_people_dates.html", "customers/_details.html"]


def test_after_a_new_note_the_parts_that_show_no_notes_are_not_rendered_again(
    client, frontline, customer, django_assert_max_num_queries
):
    """The brief's head, its people and dates, and the details card are kept apart from notes: a new note renders
    the brief's notes and follow-ups again, not them (nor loads the whole customer); any other change does."""
    person_save(person=Person(customer=customer, name="Rex", relation=Person.Relation.PET))
    client.force_login(frontline)
    page = reverse("customer-detail", args=[customer.pk])

    def parts_rendered(response) -> list[str]:
        return [t.name for t in response.templates if t.name in KEPT_PARTS]

    assert parts_rendered(client.get(page)) == KEPT_PARTS
    note_create(customer=customer, author=frontline, text="Rex had his operation")
    # The customer's key columns, the brief's notes and follow-ups, outreach's suggestions and messages, the
    # timeline's rows and its one new note, the suggestions under the note form; and the request's savepoint.
    with django_assert_max_num_queries(10):
        after = client.get(page)
    assert parts_rendered(after) == []
    html = after.content.decode()
    assert "Rex had his operation" in html and "Rex" in html and 'data-testid="details"' in html
    customer.phone = "+44 20 7946 0018"
    customer.save()
    again = client.get(page)
    assert parts_rendered(again) == KEPT_PARTS and "+44 20 7946 0018" in again.content.decode()
    brief = reverse("customer-brief", args=[customer.pk])
    client.get(brief, HTTP_HX_REQUEST="true")
    follow_up_create(customer=customer, created_by=frontline, prompt="Ask how Rex is")
    swapped = client.get(brief, HTTP_HX_REQUEST="true")
    assert "Ask how Rex is" in swapped.content.decode()
    assert parts_rendered(swapped) == KEPT_PARTS[:2]  # a follow-up is not a note: everything is read again
