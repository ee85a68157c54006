import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from crm.inbox.tasks import record_heartbeat
from crm.kernel.models import Location, User
from tests.crm.factories import LocationFactory

pytestmark = pytest.mark.postgres


def test_home_lists_only_the_frontline_users_own_locations(client, frontline, other_location):
    client.force_login(frontline)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"Downtown" in response.content
    assert b"Riverside" not in response.content


@pytest.mark.parametrize("size", [2, 25])
def test_home_page_runs_a_constant_number_of_queries(client, frontline, location, size, django_assert_max_num_queries):
    from crm.inbox.models import Notification
    from customers.models import FollowUp
    from journeys.models import Interaction, Touchpoint
    from journeys.services import interaction_record
    from tests.customers.factories import CustomerFactory, FollowUpFactory, NoteFactory

    LocationFactory.create_batch(size)
    for customer in CustomerFactory.create_batch(size, home_location=location):
        FollowUpFactory(customer=customer, due=FollowUp.Due.ON_DATE, due_date=datetime.date(2020, 1, 1))
        FollowUpFactory(customer=customer)
        interaction_record(
            customer=customer,
            touchpoint=Touchpoint.objects.get(slug="in-store"),
            location=location,
            staff=frontline,
            kind=Interaction.Kind.VISIT,
        )
    # Reminders of follow-ups, one written from a sensitive note at another location: masked for everyone.
    for i, follow_up in enumerate(FollowUp.objects.order_by("pk")[:4]):
        if i == 0:
            follow_up.note = NoteFactory(customer=follow_up.customer, location=LocationFactory(), is_sensitive=True)
            follow_up.save()
        Notification.objects.create(
            recipient=frontline,
            kind=Notification.Kind.FOLLOW_UP_DUE,
            occurrence=datetime.date(2020, 1, 1),
            customer=follow_up.customer,
            follow_up=follow_up,
            title=f"Follow up with {follow_up.customer.first_name}: {follow_up.prompt}",
        )
    client.force_login(frontline)
    # Cold cache: +1 business settings, +3 permissions and groups; +1 the reader's locations, for the sensitive
    # note. The reminders' follow-ups and notes come with the reminders (one query more before).
    with django_assert_max_num_queries(12):
        response = client.get(reverse("home"))
    assert len(response.context["due_follow_ups"]) == min(size, 15)
    assert len(response.context["next_visit_follow_ups"]) == min(size, 15)
    titles = [item.title for item in response.context["inbox_items"]]
    assert len(titles) == 4 and sum(title.startswith("Follow up on a private note") for title in titles) == 1


def test_navigation_shows_each_role_what_it_may_use(client, frontline, manager):
    client.force_login(frontline)
    assert b'href="/locations/"' not in client.get(reverse("home")).content
    client.force_login(manager)
    assert b'href="/locations/"' in client.get(reverse("home")).content


def test_owner_creates_a_location_in_its_own_time_zone(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("location-create"),
        {
            "name": "Harbour",
            "address": "1 Quay",
            "timezone": "America/Los_Angeles",
            "digest_time": "07:30",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Location.objects.get(name="Harbour").timezone == "America/Los_Angeles"


def test_location_form_shows_errors_beside_fields_and_saves_nothing(client, owner):
    client.force_login(owner)
    response = client.post(reverse("location-create"), {"name": "Downtown", "timezone": "Nowhere/Atlantis"})
    assert response.status_code == 200
    assert "Location with this Name already exists." in response.content.decode()
    assert "Select a valid choice" in response.content.decode()
    assert Location.objects.count() == 2


def test_location_local_day_differs_from_utc_late_in_the_evening(time_at):
    shop = Location(name="Pacific", timezone="America/Los_Angeles")
    time_at(datetime.datetime(2026, 3, 1, 6, 30, tzinfo=datetime.UTC))
    assert shop.local_today() == datetime.date(2026, 2, 28)
    assert shop.local_now().tzinfo == zoneinfo.ZoneInfo("America/Los_Angeles")


def test_seed_demo_is_idempotent_and_prints_logins(capsys, db):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "username: frontline" in out and "password: microcx-demo" in out
    assert Location.objects.count() == 2
    owner = User.objects.get(username="owner")
    assert owner.role == "owner" and owner.check_password("microcx-demo")
    assert User.objects.get(username="frontline").role == "frontline"


def test_heartbeat_task_records_the_worker_was_alive(db):
    record_heartbeat()
    record_heartbeat()
    from crm.inbox.models import Heartbeat

    assert Heartbeat.objects.filter(name="worker").count() == 1


def test_missing_page_and_forbidden_page_are_friendly(client, frontline):
    client.force_login(frontline)
    missing = client.get("/customers/999999/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()
    forbidden = client.get(reverse("location-create"))
    assert forbidden.status_code == 403 and "open this page" in forbidden.content.decode()


@pytest.mark.parametrize(("name", "pk"), [("customer-detail", 7), ("follow-up-done", 123456)])
def test_pk_url_gives_the_address_the_url_tag_gives(name, pk):
    from django.template import engines

    rendered = engines["django"].from_string("{% load crm_tags %}{{ pk|pk_url:name }}").render({"pk": pk, "name": name})
    assert rendered == reverse(name, args=[pk])


def test_today_tells_each_role_without_a_location_what_to_do(client, db):
    """A frontline member of staff asks an owner; an owner (say, made with createsuperuser) is shown where
    to add themselves, not told to ask an owner."""
    from tests.crm.factories import UserFactory

    LocationFactory(name="Downtown")
    lone_frontline = UserFactory(role="frontline", username="lone", locations=[])
    client.force_login(lone_frontline)
    page = client.get(reverse("home")).content.decode()
    assert "Ask an owner to add you to one." in page
    assert reverse("staff-edit", args=[lone_frontline.pk]) not in page

    owner = User.objects.create_superuser("boss", "boss@example.com", "a long pass phrase")
    client.force_login(owner)
    page = client.get(reverse("home")).content.decode()
    assert "Ask an owner" not in page
    assert f'href="{reverse("staff-edit", args=[owner.pk])}"' in page
    assert client.get(reverse("staff-edit", args=[owner.pk])).status_code == 200


def test_a_share_is_rounded_once_from_the_counts():
    """The cohort table's cells: 10 of 22 came back is 45 % (45.45), not 46 % (45.45 rounded to 45.5, then again)."""
    from crm.kernel.templatetags.crm_tags import percent_of

    assert [percent_of(10, 22), percent_of(1, 2), percent_of(1, 3), percent_of(2, 3), percent_of(0, 5)] == [
        "45",
        "50",
        "33",
        "67",
        "0",
    ]
    assert percent_of(1, 0) == "" and percent_of(None, 4) == ""
