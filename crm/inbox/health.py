"""What a load balancer and a monitor need to know: is the database up, is the broker up, are sweeps running.

The web serves and saves without the broker: every piece of work a request asks
for is a due row committed with the request (a follow-up's next_reminder_on, a
date's next_prompt_on, a pending digest), and beat's sweep turns due rows into
tasks. So a broker outage only delays reminders: "degraded", not "down".
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import Error as DatabaseError
from django.utils import timezone

from crm.inbox.models import Heartbeat, SweepRun

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0
# Brokers that live in this process or on this disk: there is no server to be down.
LOCAL_BROKERS = ("filesystem://", "memory://")
# The heartbeat task is scheduled every minute (crm/celery.py).
HEARTBEAT_LATE_SECONDS = 180


def sweep_late_seconds() -> float:
    """A sweep older than three sweep intervals means beat or the worker has stopped."""
    return 3 * settings.REMINDER_SWEEP_SECONDS


def _moment(at: datetime.datetime | None, now: datetime.datetime, late_after: float) -> dict | None:
    if at is None:
        return None
    age = max((now - at).total_seconds(), 0.0)
    return {"at": at.isoformat(), "age_seconds": round(age), "late": age > late_after}


def broker_ok() -> bool:
    """Connect to the Celery broker with a short timeout; never raise."""
    from celery import current_app as app  # crm.celery's app (crm/__init__.py makes it current)

    if app.conf.broker_url.startswith(LOCAL_BROKERS):
        return True
    try:
        with app.connection_for_read(connect_timeout=BROKER_TIMEOUT_SECONDS) as connection:
            connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure to connect means the broker is down
        # The class and message name the host at most, never the URL with its password.
        logger.warning("Health check: the broker is unreachable (%s: %s)", type(error).__name__, error)
        return False
    return True


def report() -> tuple[dict, int]:
    """The health report and its HTTP status: 200 while the database answers, 503 when it does not.

    Two indexed queries, whatever the size of the data.
    """
    now = timezone.now()
    try:
        last_sweep = (
            SweepRun.objects.filter(name="reminders").order_by("-started_at").values_list("started_at", flat=True)
        ).first()
        heartbeat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
        database = True
    except DatabaseError as error:
        logger.warning("Health check: the database is unreachable (%s)", type(error).__name__)
        last_sweep = heartbeat = None
        database = False
    broker = broker_ok()
    sweep = _moment(last_sweep, now, sweep_late_seconds())
    worker = _moment(heartbeat, now, HEARTBEAT_LATE_SECONDS)
    if not database:
        status = "down"
    elif not broker or sweep is None or sweep["late"]:
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
        "last_sweep": sweep,
        "worker_heartbeat": worker,
        "checked_at": now.isoformat(),
    }
    return body, 200 if database else 503
