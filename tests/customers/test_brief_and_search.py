"""The brief, the timeline, search and the staff's home page."""

import datetime

import pytest
from django.urls import reverse

from customers.models import ImportantDate
from customers.selectors import customer_timeline, search_customers, upcoming_dates
from customers.services import note_create
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record
from journeys.services_manage import touchpoint_save
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.postgres


def visit(customer, location, staff, at=None):
    return interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=staff,
        kind=Interaction.Kind.VISIT,
        occurred_at=at,
    )


@pytest.mark.parametrize(
    ("month", "day", "today", "expected_on"),
    [
        (2, 29, datetime.date(2027, 2, 20), datetime.date(2027, 2, 28)),  # non-leap year: 28 February
        (2, 29, datetime.date(2028, 2, 20), datetime.date(2028, 2, 29)),
        (1, 3, datetime.date(2026, 12, 20), datetime.date(2027, 1, 3)),  # across the year end
        (12, 24, datetime.date(2026, 12, 24), datetime.date(2026, 12, 24)),  # today counts
    ],
)
def test_upcoming_dates_fall_in_the_window(month, day, today, expected_on):
    date = ImportantDate(kind="birthday", month=month, day=day)
    [upcoming] = upcoming_dates([date], today)
    assert upcoming.on == expected_on


def test_brief_says_the_age_or_anniversary(customer):
    birthday = ImportantDate(customer=customer, kind="birthday", month=11, day=27, year=1986)
    wedding = ImportantDate(customer=customer, kind="wedding", month=12, day=1, year=2016)
    descriptions = [u.description for u in upcoming_dates([birthday, wedding], datetime.date(2026, 11, 22))]
    assert descriptions == ["Birthday: turns 40", "Wedding anniversary: 10th"]


def test_brief_shows_how_often_they_usually_come(client, frontline, customer, location):
    start = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)
    for week in range(4):
        visit(customer, location, frontline, at=start + datetime.timedelta(days=14 * week))
    client.force_login(frontline)
    response = client.get(reverse("customer-detail", args=[customer.pk]))
    assert response.context["usual_gap_days"] == 14
    assert "usually every 14 days" in response.content.decode()


def test_timeline_merges_everything_newest_first_and_pages(frontline, customer, location, time_at):
    base = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    for i in range(25):
        time_at(base + datetime.timedelta(hours=i))
        if i % 2:
            note_create(customer=customer, author=frontline, text=f"note {i}")
        else:
            visit(customer, location, frontline, at=base + datetime.timedelta(hours=i))
    first = customer_timeline(customer, frontline, 1)
    assert first.has_next and not first.has_previous
    kinds = [entry.kind for entry in first.object_list]
    assert kinds[:2] == ["interaction", "note"]
    times = [entry.at for entry in first.object_list]
    assert times == sorted(times, reverse=True)
    assert len(customer_timeline(customer, frontline, 2).object_list) == 5


@pytest.mark.parametrize(
    "query",
    ["Anna Kowalski", "ana kowalsky", "Kowalsky", "anna.k@example.com", "207-555-0199", "(207) 5550199", "varifocals"],
)
def test_search_finds_a_customer_by_misspelt_name_email_phone_or_tag(frontline, location, query):
    from customers.models import Customer
    from customers.services import customer_save, tags_from_text

    anna = customer_save(
        customer=Customer(
            first_name="Anna",
            last_name="Kowalski",
            email="anna.k@example.com",
            phone="2075550199",
            home_location=location,
        ),
        tags=tags_from_text("regular, varifocals"),
    )
    CustomerFactory.create_batch(20, home_location=location)
    assert anna in list(search_customers(frontline, query)[:5])


def test_search_respects_locations_and_archive(frontline, customer, other_customer):
    assert list(search_customers(frontline, "Ruben Ortega")) == []
    customer.archived_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    customer.save()
    assert list(search_customers(frontline, "Anna Kowalski")) == []


def test_search_page_runs_a_constant_number_of_queries(client, frontline, location, django_assert_max_num_queries):
    CustomerFactory.create_batch(40, home_location=location, last_name="Smith")
    client.force_login(frontline)
    with django_assert_max_num_queries(
        11
    ):  # was 16, then 12: the rows and their tags' names in one query; the business settings on a cold cache
        response = client.get(reverse("customer-list"), {"q": "smith"})
    assert len(response.context["results"]) == 25


def test_search_as_you_type_returns_only_the_results(client, frontline, customer):
    client.force_login(frontline)
    response = client.get(
        reverse("customer-list"), {"q": "kowal"}, headers={"HX-Request": "true", "HX-Target": "customer-results"}
    )
    body = response.content.decode()
    assert "Anna Kowalski" in body and "<html" not in body


def test_todays_search_box_lists_a_few_matches_as_you_type_and_nothing_once_cleared(
    client, frontline, customer, location, django_assert_max_num_queries
):
    CustomerFactory.create_batch(12, home_location=location, last_name="Kowalczyk")
    client.force_login(frontline)
    assert 'hx-target="#home-results"' in client.get(reverse("home")).content.decode()
    headers = {"HX-Request": "true", "HX-Target": "home-results"}
    with django_assert_max_num_queries(8):  # was 9: the tags' names come with the rows
        response = client.get(reverse("customer-list"), {"q": "kowal"}, headers=headers)
    body = response.content.decode()
    assert "<html" not in body and "pagination" not in body
    assert body.count('class="list-group-item list-group-item-action') == 6
    assert client.get(reverse("customer-list"), {"q": "  "}, headers=headers).content == b""


def test_next_visit_follow_ups_show_on_home_to_whoever_is_on_duty_where_the_customer_comes(
    client, customer, other_location
):
    FollowUpFactory(customer=customer, prompt="Ask how Rex is feeling")
    riverside_staff = UserFactory(role="frontline", locations=[other_location])
    client.force_login(riverside_staff)
    assert client.get(reverse("home")).context["next_visit_follow_ups"] == []
    visit(customer, other_location, riverside_staff)
    home = client.get(reverse("home"))
    assert [f.prompt for f in home.context["next_visit_follow_ups"]] == ["Ask how Rex is feeling"]
    assert customer in home.context["recent_customers"]


def test_home_lists_dated_follow_ups_due_today_for_me_or_my_location(client, frontline, customer, location):
    today = location.local_today()
    FollowUpFactory(customer=customer, prompt="Mine", due="on_date", due_date=today, assignee=frontline)
    FollowUpFactory(customer=customer, prompt="Whole shop", due="on_date", due_date=today - datetime.timedelta(days=2))
    FollowUpFactory(
        customer=customer,
        prompt="Someone else's",
        due="on_date",
        due_date=today,
        assignee=UserFactory(role="frontline", locations=[location]),
    )
    FollowUpFactory(customer=customer, prompt="Later", due="on_date", due_date=today + datetime.timedelta(days=1))
    client.force_login(frontline)
    prompts = [f.prompt for f in client.get(reverse("home")).context["due_follow_ups"]]
    assert prompts == ["Whole shop", "Mine"]


def test_saving_a_note_refreshes_the_brief_which_comes_alone_as_a_partial(client, frontline, customer):
    client.force_login(frontline)
    saved = client.post(
        reverse("note-create", args=[customer.pk]), {"text": "Training for the Boston marathon"}, HTTP_HX_REQUEST="true"
    )
    assert saved.headers["HX-Trigger"] == "brief-changed"
    brief = client.get(reverse("customer-brief", args=[customer.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Training for the Boston marathon" in brief and "<html" not in brief and 'data-testid="brief"' in brief
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert f'hx-get="{reverse("customer-brief", args=[customer.pk])}"' in page


def test_journey_and_persona_stay_out_of_the_frontline_brief_but_not_the_managers(client, frontline, manager, customer):
    client.force_login(frontline)
    assert (
        'data-testid="customer-journey"'
        not in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    )
    client.force_login(manager)
    assert (
        'data-testid="customer-journey"' in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    )


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Zoë", "Zoe"),
        ("Müller", "muller"),
        ("Zoe", "Zoë"),
        ("Øster", "oster"),
        ("Nuñez", "NUNEZ"),
        ("Strauß", "strauss"),
    ],
)
def test_search_ignores_accents_and_case(frontline, location, stored, typed):
    found = CustomerFactory(first_name="Ann", last_name=stored, home_location=location)
    CustomerFactory(first_name="Bob", last_name="Smith", home_location=location)
    assert list(search_customers(frontline, f"ann {typed}")) == [found]
    assert found in search_customers(frontline, typed)


def test_timeline_page_and_note_saving_run_a_constant_number_of_queries(
    client, frontline, customer, location, django_assert_max_num_queries
):
    for i in range(30):
        note_create(customer=customer, author=frontline, text=f"note {i}")
        visit(customer, location, frontline)
    client.force_login(frontline)
    with django_assert_max_num_queries(11):  # no count of the whole history: one row past the page
        page = client.get(reverse("customer-timeline", args=[customer.pk]), {"page": 2}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "Page 2" in page.content.decode()
    with django_assert_max_num_queries(15):  # was 21: no savepoint, the suggestions just made not read back
        saved = client.post(
            reverse("note-create", args=[customer.pk]), {"text": "Back from Lisbon"}, HTTP_HX_REQUEST="true"
        )
    assert saved.status_code == 200


def test_the_log_forms_cached_fields_follow_a_renamed_touchpoint_and_errors_are_never_cached(
    client, frontline, customer
):
    client.force_login(frontline)
    assert "Shop floor" not in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    touchpoint = Touchpoint.objects.get(slug="in-store")
    touchpoint.name = "Shop floor"
    touchpoint_save(touchpoint=touchpoint)  # as the touchpoint page renames it: the cached page follows
    assert "Shop floor" in client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    refused = client.post(
        reverse("interaction-log", args=[customer.pk]), {"kind": "conversation"}, HTTP_HX_REQUEST="true"
    )
    assert "Say what you talked about" in refused.content.decode()
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "Say what you talked about" not in page


def test_a_tag_made_after_a_search_is_searched_as_a_tag_at_once(frontline, location):
    """The tag names a search checks are kept in the shared cache: a tag saved, renamed or deleted renews them."""
    from customers.models import Customer, Tag
    from customers.services import customer_save, tags_from_text

    bo = CustomerFactory(first_name="Bo", last_name="Lund", home_location=location)
    assert list(search_customers(frontline, "sunglasses")) == []  # the tag names are kept now
    customer_save(customer=Customer.objects.get(pk=bo.pk), tags=tags_from_text("sunglasses"))
    assert list(search_customers(frontline, "sunglasses")) == [bo]
    Tag.objects.filter(name="sunglasses").get().delete()
    assert list(search_customers(frontline, "sunglasses")) == []
