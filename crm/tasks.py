from celery import shared_task
from django.utils import timezone

from crm.models import Heartbeat


@shared_task(ignore_result=True)
def record_heartbeat(name: str = "worker") -> None:
    """Record that a worker picked up a task, so staff can see the reminders are running."""
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
