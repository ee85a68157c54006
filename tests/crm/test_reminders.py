"""The reminder engine on PostgreSQL: what is raised, to whom, when, and never twice."""

import datetime

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from crm.inbox import reminders
from crm.inbox.models import Notification, SweepRun
from customers.models import FollowUp, ImportantDate, Person
from customers.services import (
    customer_save,
    follow_up_complete,
    follow_up_create,
    important_date_save,
    tag_save,
    tags_from_text,
)
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC)


def titles(user=None):
    notifications = Notification.objects.all() if user is None else Notification.objects.filter(recipient=user)
    return sorted(notifications.values_list("title", flat=True))


def add_date(customer, **fields):
    return important_date_save(important_date=ImportantDate(customer=customer, **fields))


def test_birthday_is_raised_within_its_lead_time_once_with_the_age(time_at, customer, frontline):
    time_at(at(2026, 11, 20))  # Friday 27 November is 7 days away
    add_date(customer, kind="birthday", month=11, day=27, year=1986, lead_days=3)
    reminders.sweep()
    assert titles() == []
    time_at(at(2026, 11, 24))  # Tuesday: three days before
    reminders.sweep()
    reminders.sweep()
    assert titles(frontline) == ["Anna turns 40 on Friday"]
    important_date = ImportantDate.objects.get()
    assert important_date.next_occurrence_on == datetime.date(2027, 11, 27)


def test_wedding_anniversary_names_the_couple_and_counts_the_years(time_at, customer, frontline):
    time_at(at(2026, 11, 30))
    Person.objects.create(customer=customer, name="Carla", relation="spouse")
    add_date(customer, kind="wedding", month=12, day=1, year=2016, lead_days=3)
    reminders.sweep()
    assert titles(frontline) == ["Anna and Carla's 10th wedding anniversary tomorrow"]


def test_29_february_birthday_is_raised_on_28_february_in_a_non_leap_year(time_at, customer, frontline):
    time_at(at(2027, 2, 1))
    add_date(customer, kind="birthday", month=2, day=29, lead_days=0)
    time_at(at(2027, 2, 28))
    reminders.sweep()
    assert titles() == ["Anna's birthday is today"]


def test_late_evening_sweep_does_not_raise_tomorrows_birthday_early_in_a_western_shop(time_at, frontline):
    pacific = LocationFactory(name="Pacific", timezone="America/Los_Angeles")
    frontline.locations.add(pacific)
    customer = CustomerFactory(first_name="Bea", home_location=pacific)
    time_at(at(2026, 3, 1, 1))
    add_date(customer, kind="birthday", month=3, day=2, lead_days=0)
    time_at(at(2026, 3, 1, 23, 30))  # 15:30 on 1 March in Los Angeles
    reminders.sweep()
    assert titles() == []
    time_at(at(2026, 3, 2, 8, 5))  # 00:05 on 2 March in Los Angeles
    reminders.sweep()
    assert titles() == ["Bea's birthday is today"]


def test_eastern_shop_gets_its_day_before_utc_does(time_at, frontline):
    tokyo = LocationFactory(name="Tokyo", timezone="Asia/Tokyo")
    frontline.locations.add(tokyo)
    customer = CustomerFactory(first_name="Kenji", home_location=tokyo)
    time_at(at(2026, 5, 1))
    add_date(customer, kind="birthday", month=5, day=10, lead_days=0)
    time_at(at(2026, 5, 9, 15, 30))  # 00:30 on 10 May in Tokyo, still 9 May in UTC
    reminders.sweep()
    assert titles() == ["Kenji's birthday is today"]


def test_catch_up_after_days_without_a_sweep(time_at, customer, frontline):
    time_at(at(2026, 6, 1))
    add_date(customer, kind="birthday", month=6, day=3, lead_days=1)
    add_date(customer, kind="custom", label="Shop opening", month=6, day=5, lead_days=0)
    time_at(at(2026, 6, 8))  # the worker was down for a week
    reminders.sweep()
    assert titles() == [
        "Anna's birthday is on Wednesday 3 June (5 days ago)",
        "Anna: Shop opening on Friday 5 June (3 days ago)",
    ]


def test_nobody_at_the_location_means_the_managers_then_the_owners_are_told(time_at, customer, owner):
    time_at(at(2026, 6, 1))
    add_date(customer, kind="birthday", month=6, day=1)
    reminders.sweep()
    assert titles(owner) == ["Anna's birthday is today"]


def test_a_sweep_run_twice_or_a_batch_raised_twice_raises_nothing_more(time_at, customer, frontline):
    time_at(at(2026, 6, 1))
    date = add_date(customer, kind="birthday", month=6, day=2, lead_days=3)
    reminders.sweep()
    # A second beat process, or a redelivered task, with the row put back as it was:
    ImportantDate.objects.filter(pk=date.pk).update(
        next_occurrence_on=datetime.date(2026, 6, 2), next_prompt_on=datetime.date(2026, 5, 30)
    )
    reminders.raise_dates([date.pk], datetime.date(2026, 6, 1))
    assert Notification.objects.count() == 1


def test_dated_follow_up_is_reminded_three_times_then_escalated_to_the_manager(time_at, customer, frontline, manager):
    time_at(at(2026, 4, 1))
    follow_up_create(
        customer=customer,
        created_by=frontline,
        prompt="Call about the lenses",
        due="on_date",
        due_date=datetime.date(2026, 4, 2),
        assignee=frontline,
    )
    for day in range(2, 8):
        time_at(at(2026, 4, day))
        reminders.sweep()
        reminders.sweep()
    mine = list(Notification.objects.filter(recipient=frontline).order_by("occurrence").values_list("kind", "title"))
    assert mine == [
        ("follow_up_due", "Call about the lenses (Anna)"),
        ("follow_up_overdue", "Call about the lenses (Anna), 1 day late"),
        ("follow_up_overdue", "Call about the lenses (Anna), 2 days late"),
    ]
    escalated = Notification.objects.get(recipient=manager)
    assert escalated.kind == "follow_up_escalated" and escalated.occurrence == datetime.date(2026, 4, 5)
    assert FollowUp.objects.get().next_reminder_on is None


def test_whole_location_follow_up_goes_to_the_locations_staff_and_untaken_to_managers(
    time_at, customer, frontline, manager, other_location
):
    elsewhere = UserFactory(role="frontline", locations=[other_location])
    time_at(at(2026, 4, 1))
    follow_up_create(
        customer=customer,
        created_by=frontline,
        prompt="Ask about the trip",
        due="on_date",
        due_date=datetime.date(2026, 4, 1),
    )
    reminders.sweep()
    assert Notification.objects.filter(recipient=frontline, takeable=True).count() == 1
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    time_at(at(2026, 4, 2))
    reminders.sweep()
    assert Notification.objects.filter(recipient=manager, kind="follow_up_untaken").count() == 1


def test_taking_or_closing_a_follow_up_settles_its_reminders(time_at, client, customer, frontline, location):
    colleague = UserFactory(role="frontline", locations=[location])
    time_at(at(2026, 4, 1))
    follow_up = follow_up_create(
        customer=customer,
        created_by=frontline,
        prompt="Ask about the trip",
        due="on_date",
        due_date=datetime.date(2026, 4, 1),
    )
    reminders.sweep()
    client.force_login(colleague)
    client.post(reverse("follow-up-take", args=[follow_up.pk]), {"next": "inbox"})
    assert Notification.objects.get(recipient=frontline).done_at is not None
    assert Notification.objects.get(recipient=colleague).done_at is None
    follow_up.refresh_from_db()
    follow_up_complete(follow_up=follow_up, user=colleague)
    assert not Notification.objects.filter(done_at__isnull=True).exists()
    time_at(at(2026, 4, 2))
    reminders.sweep()
    assert Notification.objects.count() == 2  # nothing more after it was done


def _next_follow_up_pk(pk):
    """Make the next follow-up created get this id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('customers_followup', 'id'), %s, false)", [pk])


def test_taking_follow_up_1_leaves_the_reminders_of_follow_up_10_and_100_alone(
    time_at, client, customer, frontline, location
):
    colleague = UserFactory(role="frontline", locations=[location])
    time_at(at(2026, 4, 1))

    def whole_location_follow_up(pk):
        _next_follow_up_pk(pk)
        return follow_up_create(
            customer=customer,
            created_by=frontline,
            prompt=f"Ask about trip {pk}",
            due="on_date",
            due_date=datetime.date(2026, 4, 1),
        )

    first, tenth, hundredth = (whole_location_follow_up(pk) for pk in (900001, 9000010, 90000100))
    assert str(tenth.pk).startswith(str(first.pk)) and str(hundredth.pk).startswith(str(first.pk))
    reminders.sweep()
    assert Notification.objects.filter(takeable=True, done_at__isnull=True).count() == 6
    client.force_login(colleague)
    client.post(reverse("follow-up-take", args=[first.pk]), {"next": "inbox"})
    others = Notification.objects.filter(follow_up__in=[tenth, hundredth])
    assert others.count() == 4
    assert not others.filter(done_at__isnull=False).exists()
    assert not others.filter(takeable=False).exists()
    taken = Notification.objects.filter(follow_up=first)
    assert not taken.filter(takeable=True).exists()
    assert taken.get(recipient=frontline).done_at is not None
    follow_up_complete(follow_up=FollowUp.objects.get(pk=first.pk), user=colleague)
    assert others.filter(done_at__isnull=True).count() == 4


def test_a_notification_must_name_what_raised_it(frontline, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=frontline, kind="follow_up_due", occurrence="2026-04-01", title="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=frontline, kind="keep_in_touch", occurrence="2026-04-01", title="x")
    Notification.objects.create(
        recipient=frontline, kind="keep_in_touch", customer=customer, occurrence="2026-04-01", title="x"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=frontline, kind="keep_in_touch", customer=customer, occurrence="2026-04-01", title="again"
        )


def test_customer_since_anniversaries_at_1_2_5_and_10_years(time_at, frontline, location):
    time_at(at(2026, 1, 1))
    customer = CustomerFactory(first_name="Maya", home_location=location, customer_since=datetime.date(2021, 1, 3))
    customer_save(customer=customer)
    time_at(at(2026, 1, 3))
    reminders.sweep()
    assert titles(frontline) == ["Maya becomes a 5-year customer today"]
    customer.refresh_from_db()
    assert customer.next_anniversary_on == datetime.date(2031, 1, 3)


def test_keep_in_touch_is_raised_once_to_who_knows_them_and_reset_by_any_contact(time_at, customer, location):
    regular = UserFactory(role="frontline", locations=[location])
    other = UserFactory(role="frontline", locations=[location])
    time_at(at(2026, 1, 1))
    tag = tags_from_text("regular")[0]
    tag.keep_in_touch_days = 30
    tag_save(tag=tag)
    customer_save(customer=customer, tags=[tag])
    in_store = Touchpoint.objects.get(slug="in-store")
    for staff in (regular, regular, other):
        interaction_record(
            customer=customer, touchpoint=in_store, location=location, staff=staff, kind=Interaction.Kind.VISIT
        )
    time_at(at(2026, 1, 30))
    reminders.sweep()
    assert titles() == []
    time_at(at(2026, 1, 31))  # 30 days after the last visit
    reminders.sweep()
    time_at(at(2026, 2, 2))
    reminders.sweep()
    # the two who dealt with Anna most, the regular first; each told once
    assert sorted(Notification.objects.values_list("recipient", flat=True)) == sorted([regular.pk, other.pk])
    notification = Notification.objects.get(recipient=regular)
    assert notification.kind == "keep_in_touch"
    assert notification.level(datetime.date(2026, 2, 2)) == "due"
    assert notification.level(datetime.date(2026, 2, 16)) == "overdue"
    # a phone call resets the clock and settles the reminder
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="phone"),
        location=location,
        staff=other,
        kind=Interaction.Kind.CONVERSATION,
        summary="Called",
    )
    assert not Notification.objects.filter(done_at__isnull=True).exists()
    customer.refresh_from_db()
    assert customer.keep_in_touch_due_on == datetime.date(2026, 3, 4)


@pytest.mark.parametrize(("cadence", "last_amber", "first_red"), [(30, 17, 18), (7, 5, 6), (1, 2, 3)])
def test_keep_in_touch_turns_red_after_half_a_cadence(
    time_at, customer, location, frontline, cadence, last_amber, first_red
):
    """The rule the sweep writes (the reminder's overdue day), not a copy of it: amber until half a cadence
    late, then red. Due on 2 May here: the last contact was `cadence` days before."""
    due = datetime.date(2026, 5, 2)
    time_at(at(2026, 5, 2) - datetime.timedelta(days=cadence))
    customer.keep_in_touch_days = cadence
    customer_save(customer=customer)
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=frontline,
        kind=Interaction.Kind.VISIT,
    )
    customer.refresh_from_db()
    assert customer.keep_in_touch_due_on == due
    time_at(at(2026, 5, 2))
    reminders.sweep()
    notification = Notification.objects.get(kind="keep_in_touch")
    assert notification.level(due) == "due"
    assert notification.level(datetime.date(2026, 5, last_amber)) == "due"
    assert notification.level(datetime.date(2026, 5, first_red)) == "overdue"


def test_run_sweep_command_raises_synchronously_and_records_the_run(time_at, customer, frontline, capsys):
    time_at(at(2026, 6, 1))
    add_date(customer, kind="birthday", month=6, day=1)
    call_command("run_sweep")
    assert "dates raised: 1" in capsys.readouterr().out
    assert SweepRun.objects.get().raised["dates raised"] == 1


def test_saving_notes_and_follow_ups_never_needs_the_broker(client, frontline, customer, monkeypatch):
    from crm.celery import app

    # Celery reads this variable before its configuration; nothing listens there.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    assert app.connection_for_write().port == 1
    client.force_login(frontline)
    response = client.post(reverse("note-create", args=[customer.pk]), {"text": "Her dog Rex is sick"})
    assert response.status_code == 302
    response = client.post(
        reverse("follow-up-create", args=[customer.pk]),
        {"prompt": "Call", "due": "next_visit", "location": customer.home_location_id},
    )
    assert response.status_code == 302


def test_inbox_lists_marks_read_and_done(client, time_at, customer, frontline):
    time_at(at(2026, 6, 1))
    add_date(customer, kind="birthday", month=6, day=1)
    reminders.sweep()
    client.force_login(frontline)
    page = client.get(reverse("inbox"))
    assert "Anna&#x27;s birthday is today" in page.content.decode()
    assert page.context["inbox_count"] == 1
    notification = Notification.objects.get()
    client.post(reverse("notification-mark", args=[notification.pk]), {"action": "done"})
    notification.refresh_from_db()
    assert notification.done_at and notification.read_at
    assert list(client.get(reverse("inbox")).context["page"].object_list) == []


def test_inbox_runs_a_constant_number_of_queries(client, frontline, customer, django_assert_max_num_queries):
    Notification.objects.bulk_create(
        Notification(
            recipient=frontline,
            kind="message",
            occurrence=datetime.date(2026, 1, 1) - datetime.timedelta(days=i),
            title=f"n{i}",
            customer=customer,
        )
        for i in range(60)
    )
    client.force_login(frontline)
    with django_assert_max_num_queries(8):  # cold cache: +1 business settings, +3 permissions and groups, +1 badge
        client.get(reverse("inbox"))
