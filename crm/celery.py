"""The Celery app. Its beat schedule lives here, in one place."""

import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class BeatScheduler(PersistentScheduler):
    """Celery's own scheduler, which first makes the folder its schedule file goes in (var/ on a
    fresh checkout, or wherever `beat -s` points), so beat starts on a machine that never ran before."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


@app.on_after_configure.connect
def schedule_sweeps(sender, **kwargs) -> None:
    """Short sweeps that read what is due through indexes; never far-future ETA tasks."""
    from django.conf import settings

    every = settings.REMINDER_SWEEP_SECONDS
    sender.conf.beat_schedule = {
        "heartbeat": {"task": "crm.tasks.record_heartbeat", "schedule": 60.0},
        "sweep-reminders": {"task": "crm.tasks.sweep_reminders", "schedule": every},
        "sweep-digests": {"task": "crm.tasks.sweep_digests", "schedule": every},
        "sweep-messages": {"task": "outreach.tasks.sweep_messages", "schedule": every},
        # Hourly: a renewal is due from the first hour of the new period, and it is idempotent.
        "renew-budgets": {"task": "microcx.tasks.renew_budgets", "schedule": 3600.0},
        "loyalty-snapshots": {"task": "crm.tasks.refresh_loyalty_snapshots", "schedule": every},
        # Every 15 minutes: its outcomes are known weeks after the fact, and it takes tens of seconds at scale.
        "loyalty-impact": {"task": "crm.insights.tasks.refresh_impact_snapshot", "schedule": 900.0},
        "journey-maps": {"task": "journeys.tasks.refresh_journey_maps", "schedule": every},
        # Hourly and idempotent: notes past the business's retention period are removed.
        "purge-expired-notes": {"task": "crm.tasks.purge_expired_notes", "schedule": 3600.0},
        # Hourly: the customer search index's pending entries merged and the statistics renewed, in case
        # autovacuum lags or is off (crm.kernel.bulk.tidy; a second or less at 100,000 customers).
        "tidy-customers": {"task": "crm.tasks.tidy_tables", "schedule": 3600.0, "args": (["customers_customer"],)},
    }
