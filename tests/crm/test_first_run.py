"""The first-run page: a fresh install with no owner sets up its business, first location and first owner."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from crm.kernel import business, roles, services
from crm.kernel.models import BusinessSettings, Location, User
from tests.crm.factories import UserFactory

pytestmark = pytest.mark.postgres

PASSWORD = "a long walk by the river"
GOOD = {
    "business_name": "Lumen Eyewear",
    "currency": "EUR",
    "timezone": "Europe/Dublin",
    "location_name": "Grafton Street",
    "first_name": "Aoife",
    "last_name": "Byrne",
    "email": "aoife@lumen.example",
    "username": "aoife",
    "password": PASSWORD,
    "password_again": PASSWORD,
}


def fields(**changes):
    data = {name: value for name, value in {**GOOD, **changes}.items() if name != "password_again"}
    return data


def test_the_login_page_offers_the_first_run_page_on_a_fresh_install(client, db):
    page = client.get(reverse("login")).content.decode()
    assert reverse("first-run") in page
    assert client.get(reverse("first-run")).status_code == 200


def test_the_first_run_page_sets_up_everything_and_logs_the_owner_in(client, db, django_assert_max_num_queries):
    response = client.post(reverse("first-run"), GOOD)
    assert response.status_code == 302 and response.url == reverse("home")
    owner = User.objects.get()
    assert (owner.username, owner.first_name, owner.email) == ("aoife", "Aoife", "aoife@lumen.example")
    assert owner.check_password(PASSWORD) and not owner.is_superuser
    assert roles.role_of(owner) == roles.OWNER
    [location] = Location.objects.all()
    assert (location.name, location.timezone) == ("Grafton Street", "Europe/Dublin")
    assert list(owner.locations.all()) == [location]
    assert business.current() == business.Business(name="Lumen Eyewear", currency="EUR", timezone="Europe/Dublin")
    home = client.get(reverse("home"))
    assert home.status_code == 200 and home.wsgi_request.user == owner
    assert "Lumen Eyewear" in home.content.decode()
    assert client.get(reverse("business-settings")).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short", "password_again": "short"}, "password"),
        ({"password": "aoife@lumen.example", "password_again": "aoife@lumen.example"}, "password"),  # like the email
        ({"password": "password1234", "password_again": "password1234"}, "password"),  # common
        ({"password_again": "something else entirely"}, "password_again"),
        ({"currency": "XYZ"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"business_name": "   "}, "business_name"),
        ({"location_name": ""}, "location_name"),
        ({"username": "no spaces please"}, "username"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_creates_nothing(client, db, changes, field):
    response = client.post(reverse("first-run"), {**GOOD, **changes})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert not User.objects.exists() and not Location.objects.exists()
    assert not BusinessSettings.objects.exclude(name="Clearview Optics").exists()
    assert "_auth_user_id" not in client.session


def test_a_failure_halfway_leaves_nothing_behind(db, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "staff_save", refuse)
    with pytest.raises(RuntimeError):
        services.first_run_complete(**fields())
    assert not Location.objects.exists()
    assert not BusinessSettings.objects.filter(name="Lumen Eyewear").exists()


@pytest.mark.parametrize("kind", ["owner group", "superuser"])
def test_once_an_owner_exists_the_page_is_gone(client, db, location, kind):
    if kind == "superuser":
        User.objects.create_superuser("root", "root@example.com", PASSWORD)
    else:
        UserFactory(role="owner", username="olga", locations=[location])
    assert client.get(reverse("first-run")).status_code == 404
    assert client.post(reverse("first-run"), GOOD).status_code == 404
    assert not User.objects.filter(username="aoife").exists()
    assert reverse("first-run") not in client.get(reverse("login")).content.decode()
    with pytest.raises(services.FirstRunClosed):
        services.first_run_complete(**fields())


def test_an_inactive_owner_or_other_staff_do_not_close_the_page(client, db, location):
    UserFactory(role="owner", username="gone", locations=[location], is_active=False)
    UserFactory(role="frontline", username="fran", locations=[location])
    assert client.get(reverse("first-run")).status_code == 200


def test_the_first_run_page_checks_csrf(db):
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("first-run"), GOOD).status_code == 403
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_people_submitting_at_once_make_one_owner():
    Group.objects.get_or_create(name=roles.GROUP_NAMES[roles.OWNER])
    barrier = threading.Barrier(2)
    outcomes = []

    def submit(n):
        try:
            barrier.wait(timeout=30)
            services.first_run_complete(**fields(username=f"owner{n}", location_name=f"Shop {n}"))
            outcomes.append("created")
        except services.FirstRunClosed:
            outcomes.append("closed")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["closed", "created"]
    assert User.objects.count() == 1 and Location.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_submission_waits_for_the_first_and_then_finds_it_closed():
    """The second set-up blocks on the lock while the first is still open, so it cannot slip in between."""
    owners = Group.objects.get_or_create(name=roles.GROUP_NAMES[roles.OWNER])[0]
    outcome = []

    def second():
        try:
            services.first_run_complete(**fields(username="second", location_name="Second"))
            outcome.append("created")
        except services.FirstRunClosed:
            outcome.append("closed")
        finally:
            connections.close_all()

    with transaction.atomic():
        Group.objects.select_for_update().get(pk=owners.pk)  # the first submission holds the lock
        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_a_session_waits_for_a_lock()
        assert not outcome
        location = Location.objects.create(name="First", timezone="Europe/Dublin")
        UserFactory(role="owner", username="first", locations=[location])
    thread.join(timeout=60)
    assert outcome == ["closed"]
    assert list(User.objects.values_list("username", flat=True)) == ["first"]


def _wait_until_a_session_waits_for_a_lock():
    import time

    # A connection of its own: inside a transaction PostgreSQL shows pg_stat_activity as it was at first look.
    watcher = connections.create_connection("default")
    try:
        for _ in range(600):
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    return
            time.sleep(0.05)  # polling for a condition, not a fixed wait
    finally:
        watcher.close()
    raise AssertionError("the second submission never waited for the lock")
