"""Uploads: the checks every upload form makes, and keeping a CSV between its preview and its import.

A CSV import is read into memory, checked (size, a .csv name, text and not binary) and parsed; between
preview and confirmation it waits in the database (crm.kernel.models.ImportJob), on no web machine's disk,
and is never served. A receipt
is checked the same way (size, a photo or PDF by its name *and* its first bytes), stored under a random
name and only ever sent back as a download (microcx's gesture_receipt view), never shown inline.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadhandler import FileUploadHandler

from crm.kernel.csvfiles import csv_problem, decode_csv

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
# The customer import also reads a phone's contacts (vCard); the same size and text checks apply.
CONTACT_SUFFIXES = (*CSV_SUFFIXES, ".vcf")
# A request this much larger than the biggest file we take is refused before it is read to disk.
REQUEST_MARGIN = 1024 * 1024


def max_upload_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def check_size(upload, max_bytes: int) -> None:
    if upload.size > max_bytes:
        raise ValidationError(
            f"The file is {megabytes(upload.size)}; the most we take is {megabytes(max_bytes)}. "
            "Split it into smaller files.",
            code="too_big",
        )


def check_csv_upload(upload, max_bytes: int | None = None, suffixes: tuple[str, ...] = CSV_SUFFIXES) -> None:
    """Refuse, with a message naming the problem, a file that is too big, not named .csv (or one of
    `suffixes`), or not text."""
    check_size(upload, max_bytes or max_upload_bytes())
    if Path(upload.name or "").suffix.lower() not in suffixes:
        kinds = "CSV files (.csv) and vCards (.vcf)" if ".vcf" in suffixes else "CSV files (.csv)"
        raise ValidationError(
            f"Only {kinds} can be imported; “{Path(upload.name or '').name}” is not one.", code="not_csv"
        )
    upload.seek(0)
    problem = csv_problem(upload.read())
    upload.seek(0)
    if problem:
        raise ValidationError(problem, code="not_csv")


class CsvFileField(forms.FileField):
    """A CSV file to import: at most `max_bytes` (UPLOAD_MAX_BYTES), named .csv (or one of `suffixes`),
    text and not binary."""

    def __init__(self, *, max_bytes: int | None = None, suffixes: tuple[str, ...] = CSV_SUFFIXES, **kwargs):
        self.max_bytes = max_bytes
        self.suffixes = suffixes
        super().__init__(**kwargs)
        accept = ".csv,text/csv" + (",.vcf,text/vcard" if ".vcf" in suffixes else "")
        self.widget.attrs.setdefault("accept", accept)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            check_csv_upload(upload, self.max_bytes, self.suffixes)
        return upload


# What a receipt may be: its name's ending, what its first bytes must say, and the type it is sent back as.
RECEIPT_KINDS = {
    ".jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ".webp": ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    ".heic": ("image/heic", lambda head: head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1")),
    ".pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
}
RECEIPT_MAX_BYTES = 5 * 1024 * 1024


def check_receipt(upload) -> None:
    """Refuse a receipt that is too big, not a photo or PDF by name, or whose bytes are not what its name says.

    The stored file gets a random name with the checked ending, so nothing the user named it is kept.
    """
    check_size(upload, min(RECEIPT_MAX_BYTES, max_upload_bytes()))
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in RECEIPT_KINDS:
        raise ValidationError("Upload a photo (JPG, PNG, HEIC, WebP) or a PDF.", code="not_receipt")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not RECEIPT_KINDS[suffix][1](head):
        raise ValidationError(
            f"This file is not the {suffix.lstrip('.').upper()} its name says it is. "
            "Upload the photo or PDF of the receipt itself.",
            code="not_receipt",
        )
    upload.name = f"{uuid.uuid4().hex}{'.jpg' if suffix == '.jpeg' else suffix}"


def receipt_content_type(name: str) -> str:
    return RECEIPT_KINDS.get(Path(name).suffix.lower(), ("application/octet-stream",))[0]


class RequestSizeLimit(FileUploadHandler):
    """Refuse (400) an upload request far larger than any file we take, before it is read to disk.

    Files just over the limit still reach the form, which says how big they were and what the limit is.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = max_upload_bytes() + REQUEST_MARGIN
        if content_length and content_length > limit:
            raise RequestDataTooBig(f"Upload of {content_length} bytes refused; the limit is {limit}.")

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None


def stash(request, name: str, raw: bytes, options: dict | None = None) -> str:
    """Keep the file for this user's session; return the token the confirmation form sends back.

    It is kept in the database (an ImportJob waiting for its confirmation), not on this machine's
    disk, so any web process may take the confirmation. A file stashed before under the same name
    goes: one waiting file per import and session.
    """
    from crm.kernel.models import ImportJob

    discard(request, name)
    job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=request.user,
        kind=name,
        raw=raw,
        options=options or {},
        state=ImportJob.State.CHECKED,
    )
    request.session[name] = {"token": job.token.hex}
    return job.token.hex


def _waiting(request, token: str | None):
    from crm.kernel.models import ImportJob

    try:
        token_id = uuid.UUID(hex=str(token))
    except ValueError:
        return None
    return (
        ImportJob.objects.filter(token=token_id, created_by=request.user, state=ImportJob.State.CHECKED)
        .exclude(raw=b"")
        .first()
    )


def take(request, name: str, token: str | None) -> tuple[bytes, dict] | None:
    """Return the kept file and its options, if the token is this session's own; else None."""
    kept = request.session.get(name) or {}
    if not token or kept.get("token") != token:
        return None
    job = _waiting(request, token)
    if job is None or job.kind != name:
        return None
    return bytes(job.raw), job.options


def discard(request, name: str, *, imported: bool = False) -> None:
    """Drop this session's waiting file: it was imported (`imported`), replaced or abandoned."""
    from crm.kernel import import_jobs

    kept = request.session.pop(name, None) or {}
    job = _waiting(request, kept.get("token")) if kept.get("token") else None
    if job is not None:
        import_jobs.import_jobs_discard(job_ids=[job.pk], imported=imported)


def discard_waiting_holding(row_matches: Callable[[list[str]], bool]) -> int:
    """Drop every waiting import file with a row for which `row_matches(cells)` is true (erasing a
    customer: their previews go too); return how many went. A file that cannot be read as CSV any
    more is judged on its raw text, one line per row."""
    from crm.kernel import import_jobs

    holding = [
        job_id
        for job_id, raw in import_jobs.jobs_waiting().values_list("pk", "raw").iterator(chunk_size=20)
        if any(row_matches(cells) for cells in _rows_of(bytes(raw)))
    ]
    return import_jobs.import_jobs_discard(job_ids=holding) if holding else 0


def _rows_of(raw: bytes):
    text = decode_csv(raw) or raw.decode("latin-1")
    if text.lstrip().upper().startswith("BEGIN:VCARD"):
        # A contact's line (EMAIL;TYPE=HOME:anna@example.com, N:Kowalski;Anna) as the cells it holds.
        yield from (re.split(r"[:;,]", line) for line in text.splitlines())
        return
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        yield from ([line] for line in text.splitlines())


# A waiting import file not confirmed within this time was abandoned; it holds personal data.
STASH_MAX_AGE_SECONDS = 6 * 3600


def forget_abandoned() -> int:
    """Drop the files of imports left unconfirmed for STASH_MAX_AGE_SECONDS; return how many went."""
    from crm.kernel import import_jobs

    return import_jobs.import_jobs_forget_abandoned(max_age_seconds=STASH_MAX_AGE_SECONDS)
