"""Owners add staff and change their role, locations and access without the Django admin."""

import pytest
from django.urls import reverse

from crm.kernel import roles
from crm.kernel.models import User

pytestmark = pytest.mark.postgres


def form(location, **fields):
    data = {
        "username": "sam",
        "first_name": "Sam",
        "last_name": "Reyes",
        "email": "sam@example.com",
        "role": "frontline",
        "locations": [location.pk],
        "password": "tortoise-frames-42",
    }
    return {**data, **fields}


def test_owner_adds_a_frontline_member_who_can_log_in_at_their_location(client, owner, location):
    client.force_login(owner)
    response = client.post(reverse("staff-create"), form(location))
    assert response.status_code == 302
    sam = User.objects.get(username="sam")
    assert roles.role_of(sam) == roles.FRONTLINE and list(sam.locations.all()) == [location]
    assert sam.check_password("tortoise-frames-42") and not sam.is_superuser
    client.logout()
    logged_in = client.post(reverse("login"), {"username": "sam", "password": "tortoise-frames-42"})
    assert logged_in.status_code == 302 and client.get(reverse("home")).context["user"] == sam


def test_a_weak_first_password_or_no_location_is_refused_beside_the_field(client, owner, location):
    client.force_login(owner)
    page = client.post(reverse("staff-create"), form(location, password="password", locations=[]))
    errors = page.context["form"].errors
    assert "password" in errors and "locations" in errors
    assert not User.objects.filter(username="sam").exists()


def test_owner_promotes_and_retires_a_member_and_the_role_is_exactly_one(client, owner, frontline, location):
    client.force_login(owner)
    data = form(location, username=frontline.username, role="manager", is_active="on")
    del data["password"]
    assert client.post(reverse("staff-edit", args=[frontline.pk]), data).status_code == 302
    frontline = User.objects.get(pk=frontline.pk)
    assert roles.role_of(frontline) == roles.MANAGER
    assert frontline.groups.filter(name__in=roles.GROUP_NAMES.values()).count() == 1
    data.pop("is_active")
    client.post(reverse("staff-edit", args=[frontline.pk]), data)
    assert not User.objects.get(pk=frontline.pk).is_active


def test_an_owner_cannot_demote_or_lock_out_themself(client, owner, location):
    client.force_login(owner)
    data = form(location, username=owner.username, role="manager")
    del data["password"]
    errors = client.post(reverse("staff-edit", args=[owner.pk]), data).context["form"].errors
    assert "role" in errors and "is_active" in errors
    assert roles.role_of(User.objects.get(pk=owner.pk)) == roles.OWNER


def test_the_staff_list_keeps_its_queries_with_many_members(client, owner, location, django_assert_max_num_queries):
    from tests.crm.factories import UserFactory

    UserFactory.create_batch(30, role="frontline", locations=[location])
    client.force_login(owner)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("staff-list"))
    assert len(page.context["page"].object_list) >= 30
