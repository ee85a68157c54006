"""What every app's Celery tasks share (retry transient database errors with backoff, ack late), and the
kernel's own tasks: checking and committing big imports.

Every task is idempotent (unique keys and conditional updates), so acks_late
with reject_on_worker_lost is safe: a task whose worker died runs again.
"""

from celery import shared_task
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


# --- the kernel's own tasks: big imports (crm.kernel.import_jobs) ------------------------------------------

# An import of 100,000 rows takes minutes on a busy machine; a redelivered import waits on the job's row lock.
IMPORT_LIMITS = {"soft_time_limit": 3300, "time_limit": 3600}


@shared_task(**COMMON, **IMPORT_LIMITS)
def check_import_job(job_id: int) -> str:
    """Check a big import's file; a job already checked or cancelled is left alone."""
    from crm.kernel import import_jobs

    return import_jobs.import_job_check(job_id=job_id)


@shared_task(**COMMON, **IMPORT_LIMITS)
def commit_import_job(job_id: int, user_id: int) -> str:
    """Import a confirmed big file in one transaction; a job already done or cancelled is left alone."""
    from crm.kernel import import_jobs

    return import_jobs.import_job_commit(job_id=job_id, user_id=user_id)


@shared_task(name="crm.tasks.tidy_tables", **COMMON, soft_time_limit=600, time_limit=660)
def tidy_tables(tables: list[str]) -> None:
    """After a big import, and hourly for customers: the tables' statistics and their GIN indexes' pending
    entries (crm.kernel.bulk.tidy)."""
    from crm.kernel import bulk

    bulk.tidy(tables)
