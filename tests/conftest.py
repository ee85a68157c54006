"""Fixtures shared by every test, and the rule that under CI nothing is skipped.

Tests marked `postgres`, `redis` or `browser` need the real server or browser.
On a laptop without one they are skipped; under CI=true they fail instead,
and a run that skipped anything at all fails at the end.
"""

import datetime
import os
import shutil
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import time_machine
from django.conf import settings

from tests.crm.factories import LocationFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def worker_redis_url(url: str) -> str:
    """The Redis database of this pytest-xdist worker: gw0 keeps the one named, gw1 the next, and so on.

    The workers share one Redis server; with a database each, one worker's cache.clear() or queued task
    never reaches another's. Outside xdist (and for other schemes) the URL is unchanged.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    parts = urlsplit(url)
    if not worker.startswith("gw") or parts.scheme not in ("redis", "rediss"):
        return url
    db = int(parts.path.strip("/") or 0) + int(worker[2:])
    if db > 15:
        raise pytest.UsageError(f"pytest-xdist worker {worker} would need Redis database {db}: run fewer workers")
    return urlunsplit(parts._replace(path=f"/{db}"))


REDIS_URL = worker_redis_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def _missing(requirement: str) -> str | None:
    """Say why a real service is not here, or None when it is."""
    if requirement == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "DATABASE_URL does not point at PostgreSQL"
    elif requirement == "redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            return f"Redis is not reachable at {REDIS_URL}: {exc}"
    elif requirement == "browser" and not os.path.exists(CHROMIUM):
        return f"chromium is not installed at {CHROMIUM}"
    return None


def _own_redis_databases() -> None:
    """Under pytest-xdist, point this worker's cache, broker and the processes it starts at its own database.

    pytest-django read the settings before any conftest, so they are changed here, before the first cache or
    broker connection; the environment is changed too, for Celery (which reads it first) and for subprocesses.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        if os.environ.get(name):
            os.environ[name] = worker_redis_url(os.environ[name])
    cache = settings.CACHES["default"]
    if cache["BACKEND"] == "crm.kernel.cache.SharedRedisCache":
        cache["LOCATION"] = worker_redis_url(cache["LOCATION"])
    settings.CELERY_BROKER_URL = worker_redis_url(settings.CELERY_BROKER_URL)
    from crm.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL


def pytest_configure(config):
    _own_redis_databases()
    # Hashing with PBKDF2 for every test user would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The hold-out leaves a random 10 % of customers out of birthday prompts and the win-back list: tests about
    # other things see every customer prompted; tests of the hold-out set the share (tests/crm/test_impact.py).
    settings.HOLD_OUT_PERCENT = 0
    # `make test-calendar` runs the suite on awkward days (the 1st of a month, 29 February, New Year's Eve
    # late in the evening) to find tests that only pass on an ordinary "today". The clock keeps ticking.
    if clock := os.environ.get("TEST_CLOCK"):
        moment = datetime.datetime.fromisoformat(clock)
        if moment.tzinfo is None:
            raise pytest.UsageError(f"TEST_CLOCK needs a UTC offset: {clock!r}")
        config._test_clock = time_machine.travel(moment, tick=True)
        config._test_clock.start()


def pytest_report_header(config):
    if clock := os.environ.get("TEST_CLOCK"):
        return f"clock moved to {clock} (TEST_CLOCK)"
    return None


def pytest_runtest_setup(item):
    for requirement in ("postgres", "redis", "browser"):
        if item.get_closest_marker(requirement) is None:
            continue
        reason = _missing(requirement)
        if reason is None:
            continue
        if IN_CI:
            pytest.fail(f"CI=true and this test needs {requirement}: {reason}", pytrace=False)
        pytest.skip(reason)


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) were skipped; every test must run in CI.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the database is rolled back between tests; the cache is not)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def time_at():
    """Freeze the clock: time_at(aware_datetime) moves it; undone after the test."""
    travellers = []

    def travel(moment):
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield travel
    for traveller in reversed(travellers):
        traveller.stop()


@pytest.fixture
def location(db):
    return LocationFactory(name="Downtown")


@pytest.fixture
def other_location(db):
    return LocationFactory(name="Riverside")


@pytest.fixture
def frontline(location):
    return UserFactory(role="frontline", username="fran", locations=[location])


@pytest.fixture
def manager(location):
    return UserFactory(role="manager", username="mona", locations=[location])


@pytest.fixture
def owner(location, other_location):
    return UserFactory(role="owner", username="olga", locations=[location, other_location])


@pytest.fixture
def users_by_role(frontline, manager, owner):
    return {"anonymous": None, "frontline": frontline, "manager": manager, "owner": owner}


@pytest.fixture
def customer(location):
    from tests.customers.factories import CustomerFactory

    return CustomerFactory(first_name="Anna", last_name="Kowalski", home_location=location)


@pytest.fixture
def other_customer(other_location):
    from tests.customers.factories import CustomerFactory

    return CustomerFactory(first_name="Ruben", last_name="Ortega", home_location=other_location)
