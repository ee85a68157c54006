"""Privacy chores that span the apps: what erasing a customer removes from crm's own tables,
and the retention policy that removes old personal notes."""

from __future__ import annotations

import datetime

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone

from crm.inbox.notifications import notifications_forget
from crm.kernel.models import SecurityPolicy, Snapshot
from customers.models import FollowUp, Note

PURGE_BATCH = 1000


def erase_customer_traces(customer, by=None) -> None:
    """Remove the reminders that named the customer, and the cached figures that may list them.

    Snapshots are recomputed from the (now anonymous) tables on their next read or sweep.
    """
    notifications_forget(customer=customer)
    Snapshot.objects.all().delete()


def retention_cutoff(years: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """Return the moment before which notes are older than `years` years."""
    now = now or timezone.now()
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def purge_expired_notes(now: datetime.datetime | None = None) -> int:
    """Remove notes older than the business's retention period, their history included.

    Runs in batches, one transaction each, so a long purge never holds locks for long; returns
    how many notes went. The audit trail keeps one entry per run, not one per note.
    """
    years = SecurityPolicy.current().note_retention_years
    if not years:
        return 0
    cutoff = retention_cutoff(years, now)
    removed = 0
    while True:
        with transaction.atomic(), disable_auditlog():
            ids = list(
                Note.objects.filter(created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                break
            # A follow-up written from a sensitive note is as private as the note; without its note
            # nothing would say so any more, so it goes with it.
            FollowUp.objects.filter(note_id__in=ids, note__is_sensitive=True).delete()
            Note.objects.filter(pk__in=ids).delete()
            # Deleting writes a last history row per note; the history goes with the note.
            Note.history.filter(id__in=ids).delete()
        removed += len(ids)
    if removed:
        # Cached figures may quote the removed notes; they are recomputed from what is left.
        Snapshot.objects.all().delete()
        policy = SecurityPolicy.current()
        LogEntry.objects.log_create(
            policy,
            force_log=True,
            action=LogEntry.Action.DELETE,
            changes=None,
            changes_text=f"Removed {removed} personal notes older than {years} years (retention policy).",
        )
    return removed
