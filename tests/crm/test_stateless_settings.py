"""What a web machine keeps to itself: nothing a request needs. Sessions in PostgreSQL, one shared cache
(Redis or a PostgreSQL table), receipts in a bucket when MEDIA_BUCKET is set, scratch files under VAR_DIR."""

import json

import pytest

from tests.crm.test_settings import manage

SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps([s.SESSION_ENGINE, s.CACHES['default'], s.STORAGES['default'], str(s.VAR_DIR)]))"
)


def configured(**env: str):
    result = manage("shell", "-c", SHOW, **{"CACHE_URL": "", "REDIS_URL": "", "MEDIA_BUCKET": "", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_redis_the_cache_is_a_postgresql_table_and_sessions_are_in_the_database(tmp_path):
    sessions, cache, storage, var = configured(VAR_DIR=str(tmp_path))
    assert sessions == "django.contrib.sessions.backends.db"
    assert cache == {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "crm_cache"}
    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert var == str(tmp_path)


def test_cache_url_names_the_shared_redis_and_media_bucket_the_receipts_bucket():
    sessions, cache, storage, _ = configured(
        CACHE_URL="redis://cache.internal:6379/1",
        MEDIA_BUCKET="shop-receipts",
        MEDIA_ENDPOINT_URL="https://s3.example.net",
    )
    assert cache["BACKEND"] == "crm.kernel.cache.SharedRedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/1"
    assert sessions == "django.contrib.sessions.backends.cached_db"  # rows in PostgreSQL, read from Redis
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "shop-receipts"
    assert storage["OPTIONS"]["endpoint_url"] == "https://s3.example.net"
    assert storage["OPTIONS"]["default_acl"] == "private"


def test_a_cache_url_that_is_neither_redis_nor_the_database_stops_startup():
    result = manage("check", CACHE_URL="memcached://somewhere")
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


@pytest.mark.postgres
def test_the_security_policy_is_read_through_the_shared_cache(owner, django_assert_num_queries):
    from django.core.cache import caches

    from crm.kernel import security, services
    from crm.kernel.models import SecurityPolicy

    assert security.owners_must_use_two_factor() is False
    assert caches["default"].get(security.POLICY_CACHE_KEY) is False
    with django_assert_num_queries(0):
        assert security.owners_must_use_two_factor() is False
    policy = SecurityPolicy.current()
    policy.require_owner_two_factor = True
    services.security_policy_save(policy=policy, by=owner)
    # Saved through one machine, cleared for all: the next read anywhere sees it.
    assert security.owners_must_use_two_factor() is True


@pytest.mark.redis
def test_clearing_the_redis_cache_leaves_the_broker_s_keys_in_the_same_database(settings):
    import redis
    from django.core.cache import caches

    from tests.conftest import REDIS_URL

    settings.CACHES = {
        "default": {"BACKEND": "crm.kernel.cache.SharedRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "t"}
    }
    cache = caches["default"]
    broker = redis.Redis.from_url(REDIS_URL)
    broker.set("stateless-test-queued-task", "1")
    try:
        cache.set("figure", 42)
        assert cache.get("figure") == 42
        cache.clear()
        assert cache.get("figure") is None
        assert broker.get("stateless-test-queued-task") == b"1"
    finally:
        broker.delete("stateless-test-queued-task")


@pytest.mark.postgres
def test_pages_keep_working_from_the_database_while_the_cache_s_redis_is_down(client, manager, settings):
    from django.core.cache import caches

    from tests.integration.servers import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "crm.kernel.cache.SharedRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache = caches["default"]
    cache.set("figure", 42)
    assert cache.get("figure", "missed") == "missed" and cache.get_many(["figure"]) == {}
    cache.delete("figure")
    cache.clear()
    client.force_login(manager)
    assert client.get("/").status_code == 200
