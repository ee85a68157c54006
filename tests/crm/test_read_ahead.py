"""A signed-in request reads its user's cached keys in one MGET (crm.kernel.cache.reading_ahead), and still
reads what it writes, or what changed on a later request, from Redis."""

import pytest
import redis.client
from django.core.cache import cache
from django.urls import reverse

from crm.kernel import business, permissions
from crm.kernel import cache as cache_module
from crm.kernel.access import staff_locations
from crm.kernel.cache import reading_ahead
from crm.kernel.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_commands(monkeypatch):
    """Every command the cache sends to Redis: its name and keys, in order."""
    sent = []
    send = redis.client.Redis.execute_command

    def spy(self, *args, **options):
        sent.append((args[0], [str(key) for key in args[1:]]))
        return send(self, *args, **options)

    monkeypatch.setattr(redis.client.Redis, "execute_command", spy)
    return sent


@pytest.mark.parametrize("page", ["inbox", "home", "profile"])
def test_a_signed_in_page_reads_the_users_keys_in_one_round_trip(page, client, frontline, location, redis_commands):
    location.staff.add(frontline)
    client.force_login(frontline)
    client.get(reverse(page))  # fills the shared cache, as any earlier page has
    redis_commands.clear()
    assert client.get(reverse(page)).status_code == 200
    reads = [keys for command, keys in redis_commands if command in ("GET", "MGET")]
    ahead = {cache.make_key(key) for keys_for in cache_module._READ_AHEAD for key in keys_for(frontline.pk)}
    assert len(ahead) >= 9
    # The session, then one MGET of the user's row, permissions, locations, unread count and the settings ...
    assert "sessions" in reads[0][0]
    assert set(reads[1]) == ahead
    # ... and none of them is read again.
    assert not [keys for keys in reads[2:] if ahead & set(keys)]


def test_what_the_request_writes_is_read_again_from_redis(frontline):
    cache.set(business.CACHE_KEY, "before", 60)
    with reading_ahead(frontline.pk):
        assert cache.get(business.CACHE_KEY) == "before"
        cache.set(business.CACHE_KEY, "after", 60)
        assert cache.get(business.CACHE_KEY) == "after"
        cache.delete(business.CACHE_KEY)
        assert cache.get(business.CACHE_KEY, "gone") == "gone"
        cache.add(business.CACHE_KEY, "added", 60)
        assert cache.get_many([business.CACHE_KEY]) == {business.CACHE_KEY: "added"}
    cache.delete(business.CACHE_KEY)


def test_a_bump_during_the_request_retires_what_was_read_ahead(frontline, location):
    location.staff.add(frontline)
    user = User.objects.get(pk=frontline.pk)
    assert [place.pk for place in staff_locations(user)] == [location.pk]  # now cached
    with reading_ahead(frontline.pk):
        location.staff.remove(frontline)  # bumps the staff-locations version
        assert staff_locations(User.objects.get(pk=frontline.pk)) == []


def test_each_read_unpickles_its_own_copy(frontline):
    key = permissions._key(frontline.pk)
    cache.set(key, ["kept"], 60)
    with reading_ahead(frontline.pk):
        first = cache.get(key)
        first.append("changed by one reader")
        assert cache.get(key) == ["kept"]
    cache.delete(key)


def test_a_key_missing_from_redis_reads_as_missing(frontline):
    cache.delete(business.CACHE_KEY)
    with reading_ahead(frontline.pk):
        assert cache.get(business.CACHE_KEY) is None
        assert business.current().name  # loaded from the database and kept
        assert cache.get(business.CACHE_KEY) is not None


def test_nothing_is_read_ahead_without_a_user(redis_commands):
    with reading_ahead(None):
        pass
    assert redis_commands == []


def test_a_version_read_once_in_a_request_is_not_read_again_until_it_is_written(frontline, redis_commands):
    """The customer page reads its customer's versions for several of its parts: one round trip, not one a part;
    a bump in the request (from this process) is read from Redis again."""
    key = "customer-page:v:test-read-once"
    cache.delete(key)
    with reading_ahead(frontline.pk):
        first = cache_module.current_versions(key, "customer-page:v:shared")
        redis_commands.clear()
        assert cache_module.current_versions(key, "customer-page:v:shared") == first
        assert [command for command, _keys in redis_commands if command in ("GET", "MGET")] == []
        cache_module.bump(key)
        renewed = cache_module.current_versions(key)
        assert renewed != first[:1] and renewed[0] is not None
    assert cache_module.current_versions(key) == renewed  # outside: read from Redis, the same
    cache.delete(key)
