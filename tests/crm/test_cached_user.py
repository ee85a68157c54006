"""Each request's user row comes from the shared cache (crm.kernel.permissions.StaffModelBackend); every
change to the user counts on their next request, and the password hash is never in the cache."""

import pickle

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.inbox.digests import digest_failed
from crm.kernel.models import User
from crm.kernel.permissions import StaffModelBackend
from tests.crm.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.session["_auth_user_backend"] == "crm.kernel.permissions.StaffModelBackend"
    return client


def test_the_second_request_reads_no_user_row(client, frontline):
    signed_in(client, frontline)
    client.get(reverse("inbox"))
    backend = StaffModelBackend()
    with CaptureQueriesContext(connection) as captured:
        user = backend.get_user(frontline.pk)
    assert [q["sql"] for q in captured if "crm_cache" not in q["sql"]] == []  # the cache may be a table
    assert user.username == frontline.username and user.pk == frontline.pk
    assert "password" not in user.__dict__  # loaded only if asked for


def test_the_cache_never_holds_the_password_hash(client, frontline):
    signed_in(client, frontline)
    client.get(reverse("inbox"))
    hashed = User.objects.get(pk=frontline.pk).password
    keys = cache._cache.get_client().keys("*") if hasattr(cache, "_cache") else None
    if keys is None:  # the database cache
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM crm_cache")
            blobs = [row[0].encode() for row in cursor.fetchall()]
    else:
        redis = cache._cache.get_client()
        # The cache's own keys (the broker keeps lists and sets in the same database).
        blobs = [redis.get(key) or b"" for key in keys if redis.type(key) == b"string"]
    assert blobs and not any(hashed.encode() in blob or hashed.encode() in pickle.dumps(blob) for blob in blobs)


def test_a_deactivated_user_is_signed_out_on_their_next_request(client, frontline):
    signed_in(client, frontline)
    assert client.get(reverse("inbox")).status_code == 200
    frontline.is_active = False
    frontline.save()
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_new_password_ends_the_other_sessions(client, frontline):
    signed_in(client, frontline)
    assert client.get(reverse("inbox")).status_code == 200
    user = User.objects.get(pk=frontline.pk)
    user.set_password("a whole new passphrase 42")
    user.save()
    assert client.get(reverse("inbox")).status_code == 302
    assert SESSION_KEY not in client.session


def test_a_renamed_user_sees_the_new_name_at_once(client, frontline):
    signed_in(client, frontline)
    client.get(reverse("inbox"))
    frontline.first_name = "Francesca"
    frontline.save()
    assert client.get(reverse("inbox")).context["user"].first_name == "Francesca"


def test_a_failing_address_shows_on_the_profile_after_an_update(client, frontline, location):
    from crm.inbox.models import DigestSend

    signed_in(client, frontline)
    client.get(reverse("profile"))
    for day in range(5):
        digest = DigestSend.objects.create(recipient=frontline, day=f"2026-11-{day + 1:02d}", attempts=1)
        digest_failed(digest=digest, error=OSError("mailbox full"))
    assert "have been failing since" in client.get(reverse("profile")).content.decode()


def test_a_cached_user_saved_keeps_their_password(client, frontline):
    signed_in(client, frontline)
    client.get(reverse("inbox"))
    user = StaffModelBackend().get_user(frontline.pk)
    user.first_name = "Fran"
    user.save()
    assert User.objects.get(pk=frontline.pk).check_password(TEST_PASSWORD)
