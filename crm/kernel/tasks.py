"""What every app's Celery tasks share: retry transient database errors with backoff, ack late.

Every task is idempotent (unique keys and conditional updates), so acks_late
with reject_on_worker_lost is safe: a task whose worker died runs again.
"""

from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)
COMMON = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "ignore_result": True,
}
