"""Where a member of staff works is read from the shared cache, and every change to it counts on the next read."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.kernel.access import own_active_locations, staff_location_ids, staff_locations
from crm.kernel.confidences import reader_location_ids
from crm.kernel.models import User
from customers.access import customers_for
from tests.crm.factories import LocationFactory

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    """The user as the next request loads them."""
    return User.objects.get(pk=user.pk)


def test_a_request_after_the_first_reads_the_locations_without_a_query(frontline, location):
    assert staff_location_ids(fresh(frontline)) == [location.pk]
    user = fresh(frontline)
    with CaptureQueriesContext(connection) as captured:
        assert staff_locations(user) == [location]
        assert reader_location_ids(user) == {location.pk}
        assert own_active_locations(user) == [location]
    assert [q["sql"] for q in captured if "crm_cache" not in q["sql"]] == []  # the cache may be a table


def test_every_kind_of_change_counts_on_the_next_read(frontline, location, other_location, customer, other_customer):
    staff_location_ids(fresh(frontline))  # cached
    assert set(customers_for(fresh(frontline))) == {customer}

    frontline.locations.add(other_location)
    assert set(customers_for(fresh(frontline))) == {customer, other_customer}
    assert reader_location_ids(fresh(frontline)) == {location.pk, other_location.pk}

    other_location.staff.remove(frontline)  # from the location's side
    assert set(customers_for(fresh(frontline))) == {customer}

    location.is_active = False
    location.save()
    assert own_active_locations(fresh(frontline)) == []
    assert staff_location_ids(fresh(frontline)) == [location.pk]  # still theirs, only closed

    location.name = "Uptown"
    location.save()
    assert staff_locations(fresh(frontline))[0].name == "Uptown"

    frontline.locations.clear()
    assert list(customers_for(fresh(frontline))) == []


def test_the_same_user_object_sees_its_own_change_within_a_request(frontline, location, other_location):
    assert staff_location_ids(frontline) == [location.pk]
    assert reader_location_ids(frontline) == {location.pk}
    frontline.locations.add(other_location)
    assert set(staff_location_ids(frontline)) == {location.pk, other_location.pk}
    assert reader_location_ids(frontline) == {location.pk, other_location.pk}


def test_a_location_made_later_with_a_user_who_already_read_theirs(frontline, location):
    staff_location_ids(fresh(frontline))
    new = LocationFactory(name="Harbour")
    new.staff.add(frontline)
    assert [found.name for found in staff_locations(fresh(frontline))] == ["Downtown", "Harbour"]
