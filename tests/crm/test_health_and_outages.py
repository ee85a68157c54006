"""/healthz for a load balancer, and a friendly 503 (never a 500) while the database is unreachable.

The real outages (a stopped Redis, a restarting PostgreSQL) are in
tests/integration/test_outages.py; here the database failure is simulated.
"""

import datetime
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.inbox.models import Heartbeat, SweepRun
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.postgres

NOTHING_LISTENS = "redis://:s3cret-password@127.0.0.1:1/0"


@pytest.fixture
def broker(monkeypatch):
    """Point the Celery app at another broker for one test: broker("redis://...").

    Celery reads the CELERY_BROKER_URL environment variable before its own
    configuration, so that is what has to change.
    """

    def use(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)

    return use


def recent_sweep_and_heartbeat(seconds_ago: int = 30) -> None:
    at = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    SweepRun.objects.create(name="reminders", started_at=at, finished_at=at)
    Heartbeat.objects.update_or_create(name="worker", defaults={"beat_at": at})


@pytest.mark.redis
def test_healthz_reports_the_database_broker_last_sweep_and_worker(client, db, broker, django_assert_num_queries):
    broker(REDIS_URL)
    recent_sweep_and_heartbeat(seconds_ago=30)
    with django_assert_num_queries(2):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok"
    assert (body["database"], body["broker"]) == ("ok", "ok")
    assert 29 <= body["last_sweep"]["age_seconds"] <= 40 and body["last_sweep"]["late"] is False
    assert datetime.datetime.fromisoformat(body["last_sweep"]["at"]) < timezone.now()
    assert 29 <= body["worker_heartbeat"]["age_seconds"] <= 40


def test_healthz_answers_200_degraded_within_a_second_or_two_when_the_broker_is_down(client, db, broker):
    broker(NOTHING_LISTENS)
    recent_sweep_and_heartbeat()
    started = time.monotonic()
    response = client.get(reverse("healthz"))
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("degraded", "ok", "down")
    assert "s3cret" not in response.content.decode() and "redis://" not in response.content.decode()


def test_healthz_is_degraded_when_no_sweep_ran_or_the_last_one_is_late(client, db, broker, settings):
    broker("memory://")
    body = client.get(reverse("healthz")).json()
    assert (body["status"], body["last_sweep"], body["worker_heartbeat"]) == ("degraded", None, None)
    settings.REMINDER_SWEEP_SECONDS = 60
    recent_sweep_and_heartbeat(seconds_ago=181)
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "degraded" and body["last_sweep"]["late"] is True
    assert body["worker_heartbeat"]["late"] is True
    recent_sweep_and_heartbeat(seconds_ago=5)
    assert client.get(reverse("healthz")).json()["status"] == "ok"


def test_healthz_answers_503_when_the_database_does_not(client, db, broker):
    broker("memory://")
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("connection refused")
    ):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("down", "down", "ok")


def test_a_database_outage_in_a_page_is_a_friendly_503_with_retry_after(client, frontline, customer):
    client.force_login(frontline)
    with mock.patch("customers.views.get_customer_for_user", side_effect=OperationalError("server closed")):
        response = client.post(reverse("note-create", args=[customer.pk]), {"text": "Her dog Rex is sick"})
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "cannot reach its database" in page
    assert 'href="/static/css/app.css"' in page and "<style" not in page  # the CSP allows no inline style


def test_a_database_outage_while_loading_the_session_is_a_503_not_a_500(frontline):
    client = Client(raise_request_exception=False)
    client.force_login(frontline)
    cache.clear()  # with Redis, sessions are read from the cache; PostgreSQL is asked on a miss
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore._get_session_from_db",  # db and cached_db read with it
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "cannot reach its database" in response.content.decode()


def test_any_other_error_is_still_the_plain_500_page(frontline, customer):
    client = Client(raise_request_exception=False)
    client.force_login(frontline)
    with mock.patch("customers.views.get_customer_for_user", side_effect=RuntimeError("a bug")):
        response = client.get(reverse("customer-detail", args=[customer.pk]))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
