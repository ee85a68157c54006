"""The page of one import job: its live progress while a task checks or imports it, then what it found or did."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.kernel import import_jobs
from crm.kernel.access import get_import_job_for_user
from crm.kernel.models import ImportJob

POLL_SECONDS = 1


def start_if_big(request, *, kind: str, raw: bytes, file_name: str, options: dict):
    """For an upload page: when the file has more than IMPORT_BACKGROUND_ROWS rows, start a background job
    and return the redirect to its page; else None, and the page checks the file itself as before (so
    does a kind that is not registered as a job: the touchpoint figures, small by nature).

    `options` are the kind's (its "location", the pk of the location rows without one go to, names the job's).
    """
    if kind not in import_jobs.KINDS or import_jobs.estimate_rows(raw) <= settings.IMPORT_BACKGROUND_ROWS:
        return None
    job = import_jobs.import_job_start(
        kind=kind, user=request.user, raw=raw, file_name=file_name or "", options=options
    )
    return redirect("import-job", pk=job.pk)


def _kind_for(request, job: ImportJob) -> import_jobs.ImportKind:
    kind = import_jobs.KINDS.get(job.kind)
    if kind is None or not request.user.has_perm(kind.permission):
        raise PermissionDenied
    return kind


def _context(request, job: ImportJob, kind: import_jobs.ImportKind) -> dict:
    progress = import_jobs.live_progress(job) if job.state in (job.State.CHECKING, job.State.IMPORTING) else None
    took = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
    return {
        "job": job,
        "kind": kind,
        "progress": progress,
        "poll_seconds": POLL_SECONDS,
        "took": import_jobs.duration_text(took),
    }


def import_job(request, pk: int):
    """One import: a progress bar while it runs (refreshed in place), then the check's findings or the summary."""
    job = get_import_job_for_user(request.user, pk)
    kind = _kind_for(request, job)
    return render(request, "crm/import_job.html", _context(request, job, kind))


def import_job_progress(request, pk: int):
    """The progress bar alone, polled by the page; once the phase ends the whole page is reloaded."""
    job = get_import_job_for_user(request.user, pk)
    kind = _kind_for(request, job)
    response = render(request, "crm/_import_progress.html", _context(request, job, kind))
    if request.GET.get("state") != job.state:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def import_job_confirm(request, pk: int):
    job = get_import_job_for_user(request.user, pk)
    _kind_for(request, job)
    try:
        job = import_jobs.import_job_confirm(job=job, user=request.user)
    except import_jobs.ImportJobClosed:
        messages.error(request, "This import cannot be started again: it has been imported, cancelled or has bad rows.")
    return redirect("import-job", pk=job.pk)


@require_POST
def import_job_cancel(request, pk: int):
    job = get_import_job_for_user(request.user, pk)
    _kind_for(request, job)
    if import_jobs.import_job_cancel(job=job):
        messages.success(request, "Cancelled. Nothing from this file is imported.")
    else:
        messages.error(request, "This import has already ended.")
    return redirect("import-job", pk=job.pk)
