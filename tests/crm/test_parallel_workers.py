"""The suite runs in pytest-xdist workers that share one Redis server: each takes a database of its own."""

import pytest
from django.conf import settings

from tests.conftest import REDIS_URL, worker_redis_url


@pytest.mark.parametrize(
    ("worker", "url", "expected"),
    [
        ("", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("gw0", "redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
        ("gw1", "redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/4"),
        ("gw2", "redis://:pw@127.0.0.1:6379", "redis://:pw@127.0.0.1:6379/2"),
        ("gw1", "memory://", "memory://"),
        ("gw1", "filesystem://", "filesystem://"),
    ],
)
def test_each_worker_has_its_own_redis_database(monkeypatch, worker, url, expected):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert worker_redis_url(url) == expected


def test_more_workers_than_redis_databases_is_refused(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw9")
    with pytest.raises(pytest.UsageError, match="Redis database 17"):
        worker_redis_url("redis://127.0.0.1:6379/8")


@pytest.mark.redis
def test_this_workers_cache_and_broker_use_its_database():
    from django.core.cache import cache

    from crm.celery import app

    if settings.CACHES["default"]["BACKEND"] == "crm.kernel.cache.SharedRedisCache":
        assert settings.CACHES["default"]["LOCATION"] == REDIS_URL
        assert cache._cache._servers == [REDIS_URL]
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    if settings.CELERY_BROKER_URL.startswith("redis"):
        with app.connection_for_write() as connection:
            assert connection.as_uri(include_password=True).rstrip("/") == settings.CELERY_BROKER_URL.rstrip("/")
