"""The Celery app. Its beat schedule lives here, in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic sweeps are added here by the apps that own them.
app.conf.beat_schedule = {
    "heartbeat": {"task": "crm.tasks.record_heartbeat", "schedule": 60.0},
}
