"""Personas and journey maps: designed steps beside what customers of the persona really did."""

import datetime

import pytest
from django.urls import reverse

from journeys.models import CustomerPersona, JourneyStep, Persona, Touchpoint, TouchpointMetric
from journeys.selectors import journey_map
from journeys.services import interaction_record
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def at(day):
    return datetime.datetime(2026, 10, day, 12, tzinfo=datetime.UTC)


@pytest.fixture
def parents(location, frontline):
    """Three customers of the persona with hand-made journeys, and one outsider."""
    persona = Persona.objects.create(name="Busy parent", summary="Two kids, no time")
    tp = {t.slug: t for t in Touchpoint.objects.all()}
    journeys = [
        [("search", "conversation", 0, 1), ("in-store", "purchase", 1, 3), ("email", "conversation", 1, 5)],
        [("search", "conversation", -1, 2), ("in-store", "purchase", 1, 4)],
        [("word-of-mouth", "conversation", 0, 1), ("in-store", "visit", -1, 6)],
    ]
    for steps in journeys:
        customer = CustomerFactory(home_location=location)
        CustomerPersona.objects.create(customer=customer, persona=persona)
        for slug, kind, sentiment, day in steps:
            interaction_record(
                customer=customer,
                touchpoint=tp[slug],
                location=location,
                staff=frontline,
                kind=kind,
                sentiment=sentiment,
                occurred_at=at(day),
            )
    outsider = CustomerFactory(home_location=location)
    interaction_record(
        customer=outsider,
        touchpoint=tp["phone"],
        location=location,
        staff=frontline,
        kind="conversation",
        occurred_at=at(1),
    )
    JourneyStep.objects.create(
        persona=persona,
        stage="during",
        touchpoint=tp["in-store"],
        customer_goal="Find frames fast",
        moment_that_matters="Kids are entertained",
    )
    return persona


def cell(result, slug, stage):
    row = next(r for r in result["grid"] if r["touchpoint"].slug == slug)
    index = [s for s, _ in result["stages"]].index(stage)
    return row["cells"][index]


def test_observed_journey_counts_customers_interactions_and_sentiment(parents):
    result = journey_map(parents)
    assert result["members"] == 3
    search = cell(result, "search", "before")
    assert (search.customers, search.interactions, search.sentiment) == (2, 2, -0.5)
    store = cell(result, "in-store", "during")
    assert (store.customers, store.interactions, round(store.sentiment, 2)) == (3, 3, 0.33)
    assert store.tone == "good" and store.steps[0].customer_goal == "Find frames fast"
    assert not any(r["touchpoint"].slug == "phone" for r in result["grid"])  # the outsider is not counted


def test_most_common_paths_follow_the_order_customers_first_met_touchpoints(parents):
    assert sorted(journey_map(parents)["paths"]) == [
        ("Search → In store", 1),
        ("Search → In store → Email", 1),
        ("Word of mouth → In store", 1),
    ]


def test_the_map_page_runs_a_constant_number_of_queries(client, frontline, parents, django_assert_max_num_queries):
    client.force_login(frontline)
    with django_assert_max_num_queries(24):  # computes the observed journey and keeps it
        client.get(reverse("persona-map", args=[parents.pk]))
    with django_assert_max_num_queries(14):  # reads the snapshot
        response = client.get(reverse("persona-map", args=[parents.pk]))
    assert "Find frames fast" in response.content.decode() and response.context["members"] == 3


def test_frontline_assigns_a_persona_from_the_customer_page(client, frontline, customer, parents):
    client.force_login(frontline)
    client.post(reverse("persona-assign", args=[customer.pk]), {"persona": parents.pk})
    assert CustomerPersona.objects.get(customer=customer).persona == parents
    client.post(reverse("persona-assign", args=[customer.pk]), {"persona": ""})
    assert not CustomerPersona.objects.filter(customer=customer).exists()


def test_a_retired_touchpoint_keeps_its_history(client, manager, parents):
    client.force_login(manager)
    search = Touchpoint.objects.get(slug="search")
    client.post(
        reverse("touchpoint-edit", args=[search.pk]),
        {
            "name": "Search",
            "slug": "search",
            "channel": "online",
            "stage": "before",
            "icon": "search",
            "position": 0,
        },
    )
    search.refresh_from_db()
    assert search.is_active is False and search.interactions.count() == 2
    assert cell(journey_map(parents), "search", "before").customers == 2


def test_metrics_are_entered_and_imported_by_line(client, manager, time_at):
    from django.core.files.uploadedfile import SimpleUploadedFile

    # The trend shows the last twelve months: September and October 2026 must be among them.
    time_at(datetime.datetime(2026, 11, 15, 12, tzinfo=datetime.UTC))
    client.force_login(manager)
    email = Touchpoint.objects.get(slug="email")
    client.post(
        reverse("touchpoint-detail", args=[email.pk]), {"month": "2026-09", "name": "email_open_rate", "value": "41.5"}
    )
    good = "touchpoint,month,metric,value\nemail,2026-10,email_open_rate,44.2\nphone,2026-10,call_waiting,95\n"
    preview = client.post(reverse("metric-import"), {"file": SimpleUploadedFile("m.csv", good.encode())})
    assert preview.context["plan"].to_import == 2 and TouchpointMetric.objects.count() == 1  # nothing saved yet
    client.post(reverse("metric-import"), {"confirm": "1", "token": preview.context["token"]})
    assert TouchpointMetric.objects.count() == 3
    bad = "touchpoint,month,metric,value\nemail,October,email_open_rate,44\nfax,2026-10,happiness,x\n"
    page = client.post(reverse("metric-import"), {"file": SimpleUploadedFile("m.csv", bad.encode())})
    errors = {row.line: "; ".join(row.messages) for row in page.context["plan"].bad_rows}
    assert errors[2].startswith("month: Month 'October'") and errors[3].startswith("touchpoint: Unknown touchpoint")
    assert "Unknown metric 'happiness'" in errors[3] and "Value 'x' is not a number" in errors[3]
    assert "token" not in page.context
    assert TouchpointMetric.objects.count() == 3
    trend = client.get(reverse("touchpoint-detail", args=[email.pk])).context["trend"]
    assert 41.5 in trend["metrics"]["Email open rate (%)"]


def test_the_observed_journey_is_a_snapshot_refreshed_by_the_task(parents, location, frontline):
    from journeys.tasks import refresh_journey_maps

    before = journey_map(parents)
    newcomer = CustomerFactory(home_location=location)
    CustomerPersona.objects.create(customer=newcomer, persona=parents)
    assert journey_map(parents)["members"] == before["members"] == 3  # still the snapshot
    assert refresh_journey_maps() >= 1
    assert journey_map(parents)["members"] == 4
