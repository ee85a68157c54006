"""Import jobs: a file checked, then (once its person confirms) imported, in the request or by Celery.

Every kind of import (customers, interactions, ...) registers here what it does, in the import
framework's contract: `check(raw, *, options, progress=None) -> plan`, `commit(plan, *, user,
progress=None) -> summary dict`, with `progress(done, total)` called every few hundred rows, plus
`describe(plan)` (how many rows, what it would do, the bad rows by line) and `summarise(summary)`.

A file of more than IMPORT_BACKGROUND_ROWS rows is checked and imported by a task (crm.kernel.tasks), so no
web request runs for long; its page polls the progress, which lives in the shared cache (an import
runs in one transaction, whose row counts nobody else could see) and is settled into the job when a
phase ends. The state only moves forward through conditional UPDATEs, so a task delivered twice
does its work once. The person is told in the inbox when a background check or import finishes
(the import_job_finished signal: the inbox is a floor above).
"""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from crm.kernel import signals
from crm.kernel.models import ImportJob, Location, User

log = logging.getLogger(__name__)
State = ImportJob.State
TRANSIENT = (OperationalError, InterfaceError)
PROGRESS_SECONDS = 6 * 3600
# What the person is told about, in the inbox (crm.kernel.signals.import_job_finished).
CHECKED, FINISHED = "checked", "finished"


def describe_plan(plan) -> dict:
    """What the job page shows of an import framework plan (crm.kernel.imports.Plan): its size, what it would
    do, or its bad rows by line."""
    bad = [{"line": None, "messages": [error]} for error in plan.file_errors]
    bad += [{"line": row.line, "messages": row.messages} for row in plan.bad_rows]
    return {"total": plan.total, "preview": [] if bad else [plan.summary, strip_tags(plan.ready)], "bad_rows": bad}


@dataclass(frozen=True)
class ImportKind:
    """What one kind of import does, in the import framework's contract."""

    name: str
    label: str  # "customers", "visits and purchases": what the page says is being imported
    permission: str
    upload_url: str  # the URL name of its upload page
    check: Callable[..., Any]  # check(raw, *, options, progress=None) -> plan
    commit: Callable[..., dict]  # commit(plan, *, user, progress=None) -> summary
    summarise: Callable[[dict], str]  # summary -> "Imported 3 new customers, 1 updated."
    # plan -> {"total", "preview": [str], "bad_rows": [{"line", "messages"}]}
    describe: Callable[[Any], dict] = describe_plan


KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    KINDS[kind.name] = kind


class ImportCancelled(Exception):
    """The person cancelled the job while it ran: everything it did is rolled back."""


class ImportJobClosed(Exception):
    """The job is no longer in the state this action needs (confirmed twice, cancelled meanwhile)."""


def estimate_rows(raw: bytes) -> int:
    """Count a file's rows cheaply (lines less the header, or a vCard's contacts) to choose where it runs."""
    if raw.lstrip()[:11].upper() == b"BEGIN:VCARD":
        return raw.upper().count(b"BEGIN:VCARD")
    return max(raw.count(b"\n") - (0 if raw.endswith(b"\n") else -1) - 1, 0)


# --- live progress (shared cache) ------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


def _cancel_key(job_id: int) -> str:
    return f"import-job:{job_id}:cancel"


def live_progress(job: ImportJob) -> dict:
    """Return where a running job is: rows checked, imported, in all, and the time left (None, "" when unknown)."""
    found = cache.get(_progress_key(job.pk)) or {}
    checked = found.get("checked", job.rows_checked)
    imported = found.get("imported", job.rows_imported)
    total = found.get("total") or job.rows_total
    seconds_left = None
    phase_done = imported if job.state == State.IMPORTING else checked
    if found.get("since") and phase_done and total:
        elapsed = max(found["at"] - found["since"], 0.001)
        seconds_left = max(round(elapsed / phase_done * (total - phase_done)), 0)
    return {
        "checked": checked,
        "imported": imported,
        "total": total,
        "seconds_left": seconds_left,
        "time_left": duration_text(seconds_left),
        "started": bool(found.get("since")),
    }


def duration_text(seconds: float | None) -> str:
    """Say a time left the way a person would: "40 s", "3 min", "1 h 5 min"."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{max(round(seconds), 1)} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class Progress:
    """The `progress(done, total)` callback of one phase: writes to the shared cache, notices a cancel."""

    def __init__(self, job: ImportJob, field: str) -> None:
        self.job_id, self.field, self.since = job.pk, field, time.time()
        self.state = {"checked": job.rows_checked, "imported": job.rows_imported, "total": job.rows_total}

    def begin(self) -> Progress:
        """Say a worker has started on this phase (the page stops saying it waits for one)."""
        self(0)
        return self

    def __call__(self, done: int, total: int | None = None) -> None:
        if cache.get(_cancel_key(self.job_id)):
            raise ImportCancelled
        self.state.update({self.field: done, "since": self.since, "at": time.time()})
        if total:
            self.state["total"] = total
        cache.set(_progress_key(self.job_id), self.state, PROGRESS_SECONDS)


# --- starting, checking, confirming, importing, cancelling ------------------------------------------------


def import_job_start(*, kind: str, user: User, raw: bytes, file_name: str, options: dict) -> ImportJob:
    """Keep the file in a new job and check it: within this request when small, else by a task (queued on commit).

    The job's location is the options' "location" (where rows without one go), if it still exists.
    """
    rows = estimate_rows(raw)
    job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=user,
        location=Location.objects.filter(pk=options.get("location")).first() if options.get("location") else None,
        kind=kind,
        file_name=file_name[:255],
        raw=raw,
        options=options,
        state=State.CHECKING,
        background=rows > settings.IMPORT_BACKGROUND_ROWS,
        rows_total=rows,
    )
    if job.background:
        from crm.kernel import tasks

        transaction.on_commit(lambda: tasks.check_import_job.delay(job.pk))
    else:
        import_job_check(job_id=job.pk)
        job.refresh_from_db()
    return job


def import_job_check(*, job_id: int) -> str:
    """Check a waiting job's file and keep what it would do and its bad rows; return what happened."""
    job = ImportJob.objects.filter(pk=job_id, state=State.CHECKING).first()
    if job is None:
        return "not waiting"
    kind = KINDS[job.kind]
    try:
        plan = kind.check(bytes(job.raw), options=job.options, progress=Progress(job, "checked").begin())
        described = kind.describe(plan)
    except ImportCancelled:
        return "cancelled"
    except TRANSIENT:
        raise
    except Exception as exc:
        log.exception("Import job %s could not be checked", job.pk)
        return _fail(job, f"The file could not be checked ({type(exc).__name__}). Nothing was imported.")
    total = described["total"]
    moved = ImportJob.objects.filter(pk=job.pk, state=State.CHECKING).update(
        state=State.CHECKED,
        rows_total=total,
        rows_checked=total,
        preview=described["preview"],
        bad_rows=described["bad_rows"],
        checked_at=timezone.now(),
    )
    cache.delete(_progress_key(job.pk))
    if moved and job.background:
        job.refresh_from_db()
        if job.bad_rows:
            title = f"{job.file_name or 'Your file'}: {len(job.bad_rows)} rows need fixing before it can be imported"
        else:
            title = f"{job.file_name or 'Your file'} is checked: confirm the import of {total} rows"
        _notify(job, CHECKED, title)
    return "checked" if moved else "not waiting"


def import_job_confirm(*, job: ImportJob, user: User) -> ImportJob:
    """Start importing a checked job without bad rows: here when small, else by a task (queued on commit)."""
    if job.bad_rows:
        raise ImportJobClosed
    moved = ImportJob.objects.filter(pk=job.pk, state=State.CHECKED).update(
        state=State.IMPORTING, started_at=timezone.now()
    )
    if not moved:
        raise ImportJobClosed
    if job.background:
        from crm.kernel import tasks

        transaction.on_commit(lambda: tasks.commit_import_job.delay(job.pk, user.pk))
    else:
        import_job_commit(job_id=job.pk, user_id=user.pk)
    job.refresh_from_db()
    return job


def import_job_commit(*, job_id: int, user_id: int) -> str:
    """Import a confirmed job in one transaction (its file is checked again: the data may have moved on)."""
    user = User.objects.get(pk=user_id)
    try:
        with transaction.atomic():
            # The row lock makes a second delivery of the task wait its turn, then find the job done.
            job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id, state=State.IMPORTING).first()
            if job is None:
                return "not importing"
            kind = KINDS[job.kind]
            progress = Progress(job, "imported").begin()
            plan = kind.check(bytes(job.raw), options=job.options)
            described = kind.describe(plan)
            if described["bad_rows"]:
                # Something changed since the check (a location closed, a customer erased): nothing goes in.
                ImportJob.objects.filter(pk=job.pk).update(
                    state=State.CHECKED, bad_rows=described["bad_rows"], preview=described["preview"]
                )
                if job.background:
                    title = f"{job.file_name or 'Your file'} was not imported: rows need fixing since the check"
                    _notify(job, FINISHED, title)
                return "rechecked"
            summary = kind.commit(plan, user=user, progress=progress)
            text = kind.summarise(summary)
            ImportJob.objects.filter(pk=job.pk).update(
                state=State.DONE,
                rows_imported=described["total"],
                summary={**summary, "text": text},
                raw=b"",
                finished_at=timezone.now(),
            )
    except ImportCancelled:
        moved = ImportJob.objects.filter(pk=job_id, state=State.IMPORTING).update(
            state=State.CANCELLED, raw=b"", finished_at=timezone.now()
        )
        _forget_progress(job_id)
        return "cancelled" if moved else "not importing"
    except TRANSIENT:
        raise
    except Exception as exc:
        log.exception("Import job %s failed", job_id)
        job = ImportJob.objects.get(pk=job_id)
        return _fail(job, f"The import stopped ({type(exc).__name__}). Nothing was imported; try again.")
    _forget_progress(job_id)
    job.refresh_from_db()
    if job.background:
        _notify(job, FINISHED, f"{job.file_name or 'Your file'}: {text}")
    return "done"


def import_job_cancel(*, job: ImportJob) -> bool:
    """Cancel a job: at once before its import starts; a running import is rolled back at its next progress step.

    Return whether the job is (or will shortly be) cancelled.
    """
    moved = ImportJob.objects.filter(pk=job.pk, state__in=[State.CHECKING, State.CHECKED]).update(
        state=State.CANCELLED, raw=b"", finished_at=timezone.now()
    )
    if moved:
        _forget_progress(job.pk)
        return True
    if job.state == State.IMPORTING:
        cache.set(_cancel_key(job.pk), True, PROGRESS_SECONDS)
        return True
    return False


def _fail(job: ImportJob, error: str) -> str:
    moved = ImportJob.objects.filter(pk=job.pk, state__in=ImportJob.OPEN_STATES).update(
        state=State.FAILED, error=error, raw=b"", finished_at=timezone.now()
    )
    _forget_progress(job.pk)
    if moved and job.background:
        _notify(job, FINISHED, f"{job.file_name or 'Your file'} was not imported: {error}")
    return "failed"


def _forget_progress(job_id: int) -> None:
    cache.delete_many([_progress_key(job_id), _cancel_key(job_id)])


def _notify(job: ImportJob, stage: str, title: str) -> None:
    """Tell the job's person (the inbox listens: crm.inbox.receivers)."""
    signals.import_job_finished.send(sender=ImportJob, job=job, stage=stage, title=title[:200])


# --- previews kept between a small file's check and its confirmation (crm.uploads), and tidying -----------


def jobs_waiting() -> Any:
    """Jobs whose file is still kept (not yet imported, cancelled or failed)."""
    return ImportJob.objects.filter(state__in=ImportJob.OPEN_STATES).exclude(raw=b"")


# No import runs this long (the task's time limit is an hour): one still "importing" lost its task for good.
IMPORT_STUCK_AFTER = datetime.timedelta(hours=2)


def import_jobs_forget_abandoned(*, max_age_seconds: int) -> int:
    """Cancel jobs left checked (or stuck checking) for longer than max_age_seconds, and fail imports whose
    task was lost, dropping their files; return how many."""
    now = timezone.now()
    cutoff = now - datetime.timedelta(seconds=max_age_seconds)
    abandoned = ImportJob.objects.filter(state__in=[State.CHECKING, State.CHECKED], created_at__lt=cutoff).update(
        state=State.CANCELLED, raw=b"", finished_at=now
    )
    stuck = ImportJob.objects.filter(state=State.IMPORTING, started_at__lt=now - IMPORT_STUCK_AFTER).update(
        state=State.FAILED,
        error="The import stopped and was not finished. Nothing was imported; try again.",
        raw=b"",
        finished_at=now,
    )
    return abandoned + stuck


def import_jobs_discard(*, job_ids: list[int], imported: bool = False) -> int:
    """Close these waiting jobs and drop their files: imported by the page itself, replaced, or naming a
    customer being erased."""
    return ImportJob.objects.filter(pk__in=job_ids, state__in=[State.CHECKING, State.CHECKED]).update(
        state=State.DONE if imported else State.CANCELLED, raw=b"", finished_at=timezone.now()
    )
