"""A Redis that is full (maxmemory under `noeviction`) refuses writes: the shared cache then deletes what the
write would have replaced, so no page or figure is read from before the write, and no request fails."""

import pytest
import redis
from django.core.cache import caches

from crm.kernel.cache import bump, current_versions, versioned
from customers import page_cache
from tests.integration.servers import Redis, free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def full_redis(tmp_path, settings):
    """The shared cache on a private Redis; `fill()` makes it refuse every write that needs memory."""
    server = Redis(free_port(), tmp_path)
    server.start()
    settings.CACHES = {"default": {"BACKEND": "crm.kernel.cache.SharedRedisCache", "LOCATION": server.url}}
    admin = redis.Redis.from_url(server.url)

    def fill():
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)  # below what the server already uses: every growing write is refused

    try:
        yield caches["default"], fill
    finally:
        admin.close()
        server.stop()


def test_a_refused_write_deletes_the_old_value_instead_of_leaving_it(full_redis):
    cache, fill = full_redis
    cache.set("figure", "before", 60)
    cache.set_many({"a": "before", "b": "before"}, 60)
    fill()
    cache.set("figure", "after " + "x" * 10_000, 60)  # no error reaches the page
    assert cache.get("figure", "gone") == "gone"
    assert sorted(cache.set_many({"a": "after", "b": "after"}, 60)) == ["a", "b"]  # reported as not stored
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("new", "value", 60) is False


def test_a_version_bumped_while_redis_is_full_is_never_the_old_one(full_redis, django_db_blocker):
    _cache, fill = full_redis
    (before,) = current_versions("v:test")
    assert versioned("v:test", "figure", lambda: "old figure", 60) == "old figure"
    fill()
    with django_db_blocker.unblock():
        bump("v:test")
    # The key was deleted and cannot be made again while Redis is full: no version, so nothing is served
    # from under the old one; the value is loaded afresh on every read, as while Redis is unreachable.
    assert current_versions("v:test") == [None] != [before]
    assert versioned("v:test", "figure", lambda: "new figure", 60) == "new figure"
    assert page_cache._versions("v:test") != page_cache._versions("v:test")  # a page part is never kept
