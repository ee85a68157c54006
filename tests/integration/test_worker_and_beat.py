"""A real Celery worker and beat on a real Redis raise reminders exactly once, through kills and outages.

The test runs its own redis-server on a spare port, so it can stop and start
it without touching the machine's Redis; the worker and beat are separate
processes reading the test database.
"""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm.models import Notification
from customers.models import ImportantDate
from customers.services import note_create
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.process = port, workdir, None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server, fixed arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self._answers(), "redis to start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def wait_for(condition, what: str, timeout: float = 60, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_env(tmp_path):
    if not os.path.exists(REDIS_SERVER):
        pytest.fail("redis-server is needed for the worker integration test")
    redis = Redis(free_port(), tmp_path)
    redis.start()
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "REMINDER_SWEEP_SECONDS": "2",
        "REMINDER_BATCH_SIZE": "10",
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "DEBUG": "false",
        "SECRET_KEY": "integration-test-key-" + "x" * 40,
        # The same keys as this process, so the worker reads the notes the test wrote.
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "SECURE_SSL_REDIRECT": "false",
    }
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        processes[name] = subprocess.Popen(  # noqa: S603 - our own Celery app
            [sys.executable, "-m", "celery", "-A", "crm", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return processes[name]

    yield {"redis": redis, "start": start, "processes": processes, "logs": tmp_path}
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if redis.process.poll() is None:
        redis.stop()


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
