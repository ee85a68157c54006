"""The inbox's Celery tasks: they take ids, call a service, and hold no logic of their own.

Their names stay "crm.tasks.<name>" (where they lived before the floors), so queued messages and the
beat schedule in crm/celery.py keep working across the move.

Every task is idempotent (unique keys and conditional updates), so acks_late
with reject_on_worker_lost is safe: a task whose worker died runs again.
"""

import datetime

from celery import shared_task
from django.utils import timezone

from crm.inbox import digests, reminders
from crm.inbox.models import Heartbeat
from crm.kernel.tasks import COMMON, TRANSIENT


@shared_task(name="crm.tasks.record_heartbeat", **COMMON, soft_time_limit=50, time_limit=60)
def record_heartbeat(name: str = "worker") -> None:
    """Record that a worker picked up a task, so staff can see the reminders are running."""
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


@shared_task(name="crm.tasks.sweep_reminders", **COMMON, soft_time_limit=240, time_limit=300)
def sweep_reminders() -> dict:
    """Find what fell due in each location's today and queue it in small batches."""
    run = reminders.sweep(enqueue=lambda kind, ids, today: raise_reminders.delay(kind, ids, today.isoformat()))
    return run.raised


@shared_task(name="crm.tasks.raise_reminders", **COMMON, soft_time_limit=50, time_limit=60)
def raise_reminders(kind: str, ids: list[int], today: str) -> int:
    """Raise one batch of due reminders of one kind."""
    _find_due, raise_batch = reminders.KINDS[kind]
    return raise_batch(ids, datetime.date.fromisoformat(today))


@shared_task(name="crm.tasks.sweep_digests", **COMMON, soft_time_limit=50, time_limit=60)
def sweep_digests() -> int:
    """Queue the start-of-shift emails of staff whose shift has started."""
    ids = digests.digests_due()
    for digest_id in ids:
        send_digest.delay(digest_id)
    return len(ids)


SEND_RETRIES = {
    **COMMON,
    "autoretry_for": (*TRANSIENT, *digests.SEND_ERRORS),
    "max_retries": digests.ATTEMPTS_PER_DIGEST - 1,
}


@shared_task(name="crm.tasks.send_digest", **SEND_RETRIES, soft_time_limit=50, time_limit=60)
def send_digest(digest_id: int) -> str:
    """Send one digest; a failed send is counted against the address and retried with backoff, a few times."""
    return digests.digest_send(digest_id=digest_id)


@shared_task(name="crm.tasks.purge_expired_notes", **COMMON, soft_time_limit=240, time_limit=300)
def purge_expired_notes() -> int:
    """Remove personal notes older than the business's retention period, and abandoned import files."""
    from crm.inbox import privacy
    from crm.kernel import uploads

    uploads.forget_abandoned()
    return privacy.purge_expired_notes()
