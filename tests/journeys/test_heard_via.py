"""Where a customer first heard of us lives in journeys; the customer form, page and export still show it."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from customers.models import Customer
from journeys.models import CustomerOrigin, Touchpoint
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def customer_form(location, **overrides):
    data = {"first_name": "Chloé", "last_name": "Dubois", "home_location": location.pk, "tags_text": ""}
    data.update(overrides)
    return data


def test_the_customer_form_records_where_they_heard_of_us(client, frontline, location):
    word_of_mouth = Touchpoint.objects.get(slug="word-of-mouth")
    client.force_login(frontline)
    response = client.post(reverse("customer-create"), customer_form(location, heard_via=word_of_mouth.pk))
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert CustomerOrigin.objects.get(customer=customer).touchpoint == word_of_mouth
    page = client.get(reverse("customer-detail", args=[customer.pk]))
    assert 'data-testid="heard-via">Word of mouth<' in page.content.decode()


def test_editing_keeps_changes_or_forgets_where_they_heard_of_us(client, frontline, customer):
    search, events = Touchpoint.objects.get(slug="search"), Touchpoint.objects.get(slug="events")
    CustomerOrigin.objects.create(customer=customer, touchpoint=search)
    client.force_login(frontline)
    form = client.get(reverse("customer-edit", args=[customer.pk])).context["form"]
    assert form["heard_via"].initial == search
    data = customer_form(customer.home_location, first_name=customer.first_name, heard_via=events.pk)
    assert client.post(reverse("customer-edit", args=[customer.pk]), data).status_code == 302
    assert CustomerOrigin.objects.get(customer=customer).touchpoint == events
    data["heard_via"] = ""
    assert client.post(reverse("customer-edit", args=[customer.pk]), data).status_code == 302
    assert not CustomerOrigin.objects.filter(customer=customer).exists()


def test_a_retired_touchpoint_already_recorded_stays_choosable_but_new_ones_are_active_only(
    client, frontline, customer
):
    blog = Touchpoint.objects.get(slug="blog")
    CustomerOrigin.objects.create(customer=customer, touchpoint=blog)
    Touchpoint.objects.filter(slug__in=["blog", "events"]).update(is_active=False)
    client.force_login(frontline)
    choices = client.get(reverse("customer-edit", args=[customer.pk])).context["form"].fields["heard_via"].queryset
    assert blog in choices and not choices.filter(slug="events").exists()
    new_form = client.get(reverse("customer-create")).context["form"].fields["heard_via"].queryset
    assert not new_form.filter(slug__in=["blog", "events"]).exists()


def test_an_unknown_touchpoint_is_refused_beside_the_field_and_nothing_is_saved(client, frontline, location):
    client.force_login(frontline)
    response = client.post(reverse("customer-create"), customer_form(location, heard_via="999999"))
    assert response.status_code == 200
    assert "heard_via" in response.context["form"].errors
    assert not Customer.objects.exists() and not CustomerOrigin.objects.exists()


def test_the_privacy_export_keeps_where_they_heard_of_us_in_the_profile(client, owner, customer):
    CustomerOrigin.objects.create(customer=customer, touchpoint=Touchpoint.objects.get(slug="search"))
    client.force_login(owner)
    data = json.loads(client.get(reverse("customer-privacy-json", args=[customer.pk])).content)
    assert data["profile"]["heard_via"] == "Search"
    page = client.get(reverse("customer-privacy", args=[customer.pk])).content.decode()
    assert "Heard via" in page and "Search" in page


def test_a_referral_is_shown_instead_of_the_touchpoint(client, frontline, customer, location):
    referrer = CustomerFactory(home_location=location, first_name="Ana")
    customer.referred_by = referrer
    customer.save(update_fields=["referred_by"])
    CustomerOrigin.objects.create(customer=customer, touchpoint=Touchpoint.objects.get(slug="word-of-mouth"))
    client.force_login(frontline)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "referred by" in page and 'data-testid="heard-via"' not in page


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_heard_via_of_a_database_made_before_it(location):
    """Databases made before the move have customers_customer.heard_via_id (customers 0002 added it then)."""
    keep = [CustomerFactory(home_location=location) for _ in range(3)]
    untold = CustomerFactory(home_location=location)
    touchpoints = list(Touchpoint.objects.order_by("pk")[:3])
    try:
        migrate([("journeys", "0005_import_permission")])
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE customers_customer ADD COLUMN heard_via_id bigint NULL"
                " REFERENCES journeys_touchpoint (id) DEFERRABLE INITIALLY DEFERRED"
            )
            for customer, touchpoint in zip(keep, touchpoints, strict=True):
                cursor.execute(
                    "UPDATE customers_customer SET heard_via_id = %s WHERE id = %s", [touchpoint.pk, customer.pk]
                )
        migrate([("journeys", "0006_customer_origin")])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        migrate(executor.loader.graph.leaf_nodes())
    moved = dict(CustomerOrigin.objects.values_list("customer_id", "touchpoint_id"))
    assert moved == {customer.pk: touchpoint.pk for customer, touchpoint in zip(keep, touchpoints, strict=True)}
    assert untold.pk not in moved
    with connection.cursor() as cursor:
        columns = [
            column.name for column in connection.introspection.get_table_description(cursor, "customers_customer")
        ]
    assert "heard_via_id" not in columns


def test_no_customers_migration_depends_on_journeys():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    upwards = [
        (node, parent)
        for node in graph.nodes
        if node[0] == "customers"
        for parent in graph.node_map[node].parents
        if parent.key[0] in ("journeys", "microcx")
    ]
    assert upwards == []
