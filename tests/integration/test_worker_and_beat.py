"""A real Celery worker and beat on a real Redis raise reminders exactly once, through kills and outages.

The test runs its own redis-server on a spare port, so it can stop and start
it without touching the machine's Redis; the worker and beat are separate
processes reading the test database.
"""

import datetime
import os
import signal
import subprocess
import time

import pytest
from django.utils import timezone

from crm.inbox.models import Notification
from customers.models import ImportantDate
from customers.services import note_create
from tests.customers.factories import CustomerFactory
from tests.integration.servers import app_env, current_database_url, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_env(tmp_path, private_redis, processes):
    """A private Redis, started, and a way to start Celery processes on it (tests/integration/conftest.py)."""
    private_redis.start()
    env = app_env(
        database_url=current_database_url(),
        broker_url=private_redis.url,
        REMINDER_SWEEP_SECONDS="2",
        REMINDER_BATCH_SIZE="10",
        CELERY_VISIBILITY_TIMEOUT="5",
    )

    def start(name: str, *args: str) -> subprocess.Popen:
        return processes.celery(name, *args, env=env)

    return {"redis": private_redis, "start": start, "processes": processes.running, "logs": tmp_path}


def add_due_birthdays(customers, per_customer: int, today: datetime.date) -> int:
    """Birthdays falling today (lead 0), due in every location's today."""
    rows = [
        ImportantDate(
            customer=customer,
            kind="custom",
            label=f"Date {i}",
            month=today.month,
            day=today.day,
            lead_days=0,
            next_occurrence_on=today,
            next_prompt_on=today,
        )
        for customer in customers
        for i in range(per_customer)
    ]
    ImportantDate.objects.bulk_create(rows)
    return len(rows)


def notifications() -> int:
    return Notification.objects.count()


def test_worker_and_beat_raise_once_through_a_killed_worker_and_a_redis_outage(celery_env, location, frontline):
    today = location.local_today()
    customers = CustomerFactory.create_batch(100, home_location=location)
    worker_args = (
        "worker",
        "--concurrency=1",
        "--prefetch-multiplier=1",
        "--loglevel=INFO",
        "--without-mingle",
        "--without-gossip",
        "-n",
        "integration@%h",
    )
    beat_args = ("beat", "--loglevel=INFO", "-s", str(celery_env["logs"] / "beat-schedule"))

    # 1. Due items, then a worker and beat: every one appears, once.
    expected = add_due_birthdays(customers[:10], 1, today)
    celery_env["start"]("worker", *worker_args)
    celery_env["start"]("beat", *beat_args)
    wait_for(lambda: notifications() == expected, "the first reminders", timeout=90)

    # 2. Many more due items; kill the worker in the middle of the batches, then start it again.
    expected += add_due_birthdays(customers, 30, today)
    wait_for(lambda: notifications() > 20, "the worker to start on the batches")
    os.killpg(celery_env["processes"]["worker"].pid, signal.SIGKILL)
    celery_env["processes"]["worker"].wait(timeout=10)
    at_kill = notifications()
    assert at_kill < expected, "the worker finished before it could be killed; raise more items"
    celery_env["start"]("worker", *worker_args)
    wait_for(lambda: notifications() >= expected, "the batches after the restart", timeout=120)

    # 3. Redis goes away; staff keep writing notes; more falls due; Redis comes back: catch-up.
    celery_env["redis"].stop()
    note_create(customer=customers[0], author=frontline, text="Her dog Rex is sick")  # never needs the broker
    expected += add_due_birthdays(customers[:20], 2, today)
    time.sleep(3)
    assert notifications() < expected
    celery_env["redis"].start()
    wait_for(lambda: notifications() >= expected, "the catch-up after Redis returned", timeout=120)

    time.sleep(5)  # several more sweeps: still nothing twice
    assert notifications() == expected
    assert not ImportantDate.objects.filter(next_prompt_on__lte=today).exists()
    assert (
        Notification.objects.filter(created_at__gte=timezone.now() - datetime.timedelta(minutes=10)).count() == expected
    )
