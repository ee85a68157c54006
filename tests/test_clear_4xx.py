"""Every request that answered 500 this month now gets a clear 4xx (issue 12, deliverable 5)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from journeys.models import Interaction, TouchpointMetric
from journeys.services_manage import api_token_create

pytestmark = pytest.mark.postgres

HUGE_HEADER = ("first_name," + "x" * (129 * 1024) + "\n").encode()


@pytest.fixture
def anna(location):
    from customers.services import customer_save

    return customer_save(
        customer=Customer(first_name="Anna", email="anna@example.com", phone="2075550111", home_location=location)
    )


# --- the customer search --------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_nul_in_the_customer_search_is_a_400_that_says_why(client, frontline, anna, htmx):
    client.force_login(frontline)
    headers = {"HX-Request": "true", "HX-Target": "customer-results"} if htmx else {}
    response = client.get(reverse("customer-list"), {"q": "An\x00na"}, headers=headers)
    assert response.status_code == 400
    assert "cannot contain" in response.content.decode()


# --- logging in -------------------------------------------------------------------------------


def test_a_300_character_user_name_at_login_is_a_400_before_authentication(client, frontline):
    response = client.post(reverse("login"), {"username": "u" * 300, "password": "whatever-it-is"})
    assert response.status_code == 400
    assert "150 characters" in response.content.decode()


def test_a_nul_in_the_user_name_at_login_is_a_400(client, frontline):
    response = client.post(reverse("login"), {"username": "front\x00line", "password": "whatever-it-is"})
    assert response.status_code == 400


# --- the interactions API ---------------------------------------------------------------------


@pytest.fixture
def token(manager):
    return api_token_create(name="Till", by=manager)[1]


def api_post(client, body, token):
    return client.post(
        reverse("api-interactions"),
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


RECORD = {
    "email": "anna@example.com",
    "occurred_at": "2026-10-01T10:30:00",
    "touchpoint": "in-store",
    "external_ref": "R-1001",
    "location": "Downtown",
}


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59", "+15:00", "-14:30"])
def test_an_api_time_with_a_utc_offset_beyond_14_00_is_a_400_naming_the_field(client, anna, token, offset):
    response = api_post(client, {**RECORD, "occurred_at": f"2026-10-01T10:30:00{offset}"}, token)
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45"])
def test_an_api_time_with_a_real_utc_offset_is_accepted(client, anna, token, offset):
    response = api_post(client, {**RECORD, "occurred_at": f"2026-10-01T10:30:00{offset}"}, token)
    assert response.status_code == 201


@pytest.mark.parametrize("field", ["external_ref", "email", "touchpoint", "location"])
def test_a_nul_in_an_api_field_is_a_400_naming_the_field(client, anna, token, field):
    response = api_post(client, {**RECORD, field: RECORD[field][:2] + "\x00" + RECORD[field][2:]}, token)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Interaction.objects.exists()


# --- the three CSV imports --------------------------------------------------------------------

LONE_CR = {
    "customers": b"first_name,last_name,email\rAnna,Smith,anna.smith@example.com\rBen,Jones,ben@example.com\r",
    "interactions": b"email,occurred_at,touchpoint,external_ref\ranna@example.com,2026-10-01 10:30,in-store,R-1\r",
    "metrics": b"touchpoint,month,metric,value\rin-store,2026-10,complaints,4\r",
}
URLS = {"customers": "customer-import", "interactions": "interaction-import", "metrics": "metric-import"}


def upload(client, which, raw, location):
    data = {"file": SimpleUploadedFile(f"{which}.csv", raw, content_type="text/csv")}
    if which == "customers":
        data["default_location"] = location.pk
    return client.post(reverse(URLS[which]), data)


@pytest.mark.parametrize("which", ["customers", "interactions", "metrics"])
def test_a_csv_header_over_128_kb_is_refused_with_a_message(client, manager, location, anna, which):
    client.force_login(manager)
    response = upload(client, which, HUGE_HEADER, location)
    assert response.status_code in (200, 400)
    assert "128 KB" in response.content.decode()


@pytest.mark.parametrize("which", ["customers", "interactions", "metrics"])
def test_a_csv_cell_over_128_kb_in_a_row_is_refused_with_a_message(client, manager, location, anna, which):
    client.force_login(manager)
    header = LONE_CR[which].split(b"\r")[0]
    response = upload(client, which, header + b"\n" + b"y" * (129 * 1024) + b"\n", location)
    assert response.status_code in (200, 400)
    assert "128 KB" in response.content.decode()


@pytest.mark.parametrize("which", ["customers", "interactions", "metrics"])
def test_a_csv_with_lone_cr_line_endings_reads_like_any_other(client, manager, location, anna, which):
    """Old Mac spreadsheets end lines with a bare CR: the file is read line by line like any other."""
    client.force_login(manager)
    response = upload(client, which, LONE_CR[which], location)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.total and plan.is_valid and not plan.file_errors
    if which == "metrics":
        client.post(reverse(URLS[which]), {"confirm": "1", "token": response.context["token"]})
        assert TouchpointMetric.objects.count() == 1


# --- dates on the dashboard and the monthly review ----------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("url", ["loyalty-dashboard", "loyalty-customers"])
def test_dashboard_dates_at_the_ends_of_the_calendar_say_which_dates_it_answers_for(client, owner, query, url):
    """The dashboard's range form (crm.insights.forms.LoyaltyRangeForm) puts the message beside the field."""
    client.force_login(owner)
    response = client.get(reverse(url), {**query, "figure": "active"})
    assert response.status_code in (200, 400)
    assert "Choose a date between" in response.content.decode()


@pytest.mark.parametrize("key", ["cohort", "month"])
@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_dashboard_cohort_months_at_the_ends_of_the_calendar_are_a_400(client, owner, key, month):
    client.force_login(owner)
    query = {"figure": "cohort", "cohort": "2026-01", key: month}
    response = client.get(reverse("loyalty-customers"), query)
    assert response.status_code == 400
    assert "between" in response.content.decode()


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "10000-01"])
def test_monthly_review_months_at_the_ends_of_the_calendar_are_a_400(client, manager, month):
    client.force_login(manager)
    response = client.get(reverse("monthly-review"), {"month": month})
    assert response.status_code == 400
    assert "between" in response.content.decode()
