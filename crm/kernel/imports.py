"""One way to bring a file in: check it (every bad row by line, nothing saved), then commit it (all or nothing).

An import kind is an ImportSpec: the columns it reads and the names people give them, a Django form that
cleans one row, how a batch of rows is matched to what is already there (in set operations, one query a
batch) and how a batch is saved. `check` streams the file row by row through the form and keeps the clean
rows, packed small, in a spooled temporary file, so memory stays flat however long the file is; `commit`
saves them in one transaction, so an error on any batch leaves nothing half-saved.

Every kind exposes the same two calls (background jobs wrap them):

    plan = kind.check(raw_or_stream, options={...}, progress=None)
    summary = kind.commit(plan, user=user, progress=None)

`progress(done, total)` is called every PROGRESS_EVERY rows, or once a batch for a kind that matches ahead
(and once at the end).
This module is the kernel's: it knows no domain app.
"""

from __future__ import annotations

import csv
import io
import operator
import pickle
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django import forms
from django.conf import settings
from django.core import validators
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.forms.utils import ErrorDict
from django.utils.html import format_html

from crm.kernel.csvfiles import CONTROL, NOT_CSV, SAVE_AS_CSV, SIGNATURES, malformed, map_columns

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 500
# Bad rows kept for the preview; all of them are counted.
MAX_REPORTED = 200
SAMPLE_ROWS = 50
HEAD_BYTES = 64 * 1024


class FileProblem(ValueError):
    """The whole file cannot be read; str() says why, in the user's words."""


@dataclass
class RowResult:
    """One row of the file: its line, its clean values, or its errors by field."""

    line: int
    data: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # What committing it does: "create", "update" or "skip" (already imported).
    action: str = "create"
    customer_id: int | None = None

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def messages(self) -> list[str]:
        """The errors as the person reads them: "email: Enter a valid email address."."""
        return [
            f"{'row' if name in ('__all__', 'row') else name.replace('_', ' ')}: {message}"
            for name, messages in self.errors.items()
            for message in messages
        ]


class Spool:
    """Batches of packed rows kept between check and commit, in memory up to a few MB and on disk past that."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by close()
        self.batches = 0

    def write(self, batch: list) -> None:
        pickle.dump(batch, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.batches += 1

    def __iter__(self) -> Iterator[list]:
        self.file.seek(0)
        for _ in range(self.batches):
            # Our own rows, written by this process a moment ago: never data from outside.
            yield pickle.load(self.file)  # noqa: S301

    def close(self) -> None:
        self.file.close()


@dataclass
class Plan:
    """What a file would do: its kind, the counts by action, the bad rows by line, or why the whole file fails."""

    spec: ImportSpec
    options: dict
    kind: str = ""
    file_errors: list[str] = field(default_factory=list)
    bad_rows: list[RowResult] = field(default_factory=list)
    bad_count: int = 0
    counts: Counter = field(default_factory=Counter)
    total: int = 0
    spool: Spool = field(default_factory=Spool)
    # The kind's own state between check and commit (new customers met in the file, say).
    state: dict = field(default_factory=dict)
    # The first clean rows, for the preview.
    sample: list[RowResult] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.bad_count and self.total > 0

    @property
    def to_import(self) -> int:
        return self.counts["create"] + self.counts["update"]

    @property
    def to_create(self) -> int:
        return self.counts["create"]

    @property
    def to_update(self) -> int:
        return self.counts["update"]

    @property
    def already_imported(self) -> int:
        return self.counts["skip"]

    @property
    def summary(self) -> str:
        """Say what the file is and how many rows it holds: "Square customer export, 3 customers"."""
        noun = self.spec.noun if self.total == 1 else self.spec.nouns
        return f"{self.kind}, {self.total:,} {noun}"

    @property
    def new_customers(self) -> int:
        return self.spec.new_customers(self)

    @property
    def ready(self) -> str:
        """What committing would do, for the preview ("3 interactions to import, 1 new customer")."""
        return self.spec.ready(self)

    def rows(self) -> Iterator[RowResult]:
        """The clean rows, read back from the spool (for tests and previews)."""
        for batch in self.spool:
            for packed in batch:
                yield self.spec.unpack(packed)

    def add(self, rows: list[RowResult]) -> None:
        good = []
        for row in rows:
            self.total += 1
            if row.errors:
                self.bad_count += 1
                if len(self.bad_rows) < MAX_REPORTED:
                    self.bad_rows.append(row)
            else:
                self.counts[row.action] += 1
                if len(self.sample) < SAMPLE_ROWS:
                    self.sample.append(row)
                if not self.bad_count:
                    good.append(self.spec.pack(row))
        if good:
            self.spool.write(good)


class ImportSpec:
    """One kind of import. Subclasses set the columns and the row form and fill in match and commit_batch."""

    kind = "CSV file"
    noun, nouns = "row", "rows"
    # Our field name -> the column names people use for it.
    columns: dict[str, list[str]] = {}
    # Columns the file must have; a tuple is "one of these".
    required: tuple[str | tuple[str, ...], ...] = ()
    row_form: type[forms.Form] = forms.Form
    batch_size = 2000
    max_rows = 200_000
    # What an empty file is told (default: "The file has no rows.").
    empty = ""
    # The models whose tables a big import of this kind fills: tidied after it (see _tidy_later()).
    tables: tuple = ()

    # --- check -----------------------------------------------------------------------------------------

    def context(self, options: dict) -> dict:
        """Look up once what every row needs (locations, touchpoints...)."""
        return {}

    def records(self, lines: Iterator[str], plan: Plan) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line, our field name -> cell) for each row; the default reads CSV by `columns`."""
        yield from csv_records(lines, self.columns, self.required, plan)

    def form(self, context: dict) -> forms.Form:
        """The one form instance every row is bound to in turn (building a form per row costs more than
        cleaning it)."""
        return self.row_form()

    def read(self, form: forms.Form, line: int, values: dict[str, str], context: dict) -> RowResult:
        """Clean one row with the form."""
        row = RowResult(line=line)
        if is_valid(form, values):
            row.data = form.cleaned_data
        else:
            for name, errors in form.errors.items():
                row.errors[name] = list(errors)
        return row

    def new_customers(self, plan: Plan) -> int:
        """How many customers committing the plan would create."""
        return 0

    def ready(self, plan: Plan) -> str:
        return format_html("<strong>{}</strong> {} to import", f"{plan.to_import:,}", self.nouns)

    def match(self, rows: list[RowResult], context: dict, plan: Plan) -> None:
        """Match a batch of clean rows to what exists (set operations) and set each row's action."""

    # A kind whose match_later only sends its queries (and reads nothing else from the database until the
    # function it returns is called) sets this: the check then reads the next batch while PostgreSQL answers.
    match_ahead = False

    def match_later(self, rows: list[RowResult], context: dict, plan: Plan) -> Callable[[], None]:
        """Start matching a batch: send its queries, and return what finishes the matching with their
        answers. By default the whole match is done now."""
        self.match(rows, context, plan)
        return _nothing

    # --- commit ----------------------------------------------------------------------------------------

    def pack(self, row: RowResult) -> Any:
        """What of a clean row commit needs, small (a tuple of plain values)."""
        return (row.line, row.action, row.customer_id, row.data)

    def unpack(self, packed: Any) -> RowResult:
        line, action, customer_id, data = packed
        return RowResult(line=line, action=action, customer_id=customer_id, data=data)

    def commit_start(self, plan: Plan, *, user) -> dict:
        """Prepare the commit (create what every batch needs); return its state."""
        return {"user": user}

    def commit_batch(self, batch: list, state: dict, plan: Plan) -> None:
        raise NotImplementedError

    def commit_end(self, state: dict, plan: Plan) -> dict:
        """Finish the commit (one audit entry for the import, say); return the summary."""
        return {"imported": plan.to_import}


def is_valid(form: forms.Form, values: dict[str, str]) -> bool:
    """Bind the form to this row's values and clean them as Form.full_clean does (field, clean_<name>,
    then clean()), reusing the form's fields; plain text cells take a short path with the same rules."""
    form.data = values
    form.is_bound = True
    form._errors = ErrorDict()
    form.cleaned_data = cleaned = {}
    for name, form_field, plain, clean_name in _fields_of(form):
        value = values.get(name) or ""
        try:
            if plain and "\x00" not in value:
                value = value.strip() if form_field.strip else value
                longest = form_field.max_length
                if (form_field.required and not value) or (longest and len(value) > longest):
                    value = form_field.clean(value)  # raises Django's own message
            else:
                value = form_field.clean(value)
            cleaned[name] = value
            if clean_name is not None:
                cleaned[name] = clean_name()
        except ValidationError as error:
            form.add_error(name, error)
    form._clean_form()
    form._post_clean()
    return not form._errors


def _fields_of(form: forms.Form) -> list[tuple]:
    """(name, field, is it plain text, its clean_<name> method) for each field, worked out once per form."""
    fields = form.__dict__.get("_import_fields")
    if fields is None:
        fields = form._import_fields = [
            (
                name,
                field,
                type(field) is forms.CharField and not field.min_length and _default_validators_only(field),
                getattr(form, f"clean_{name}", None),
            )
            for name, field in form.fields.items()
        ]
    return fields


def _default_validators_only(field: forms.CharField) -> bool:
    return all(
        isinstance(validator, validators.ProhibitNullCharactersValidator | validators.MaxLengthValidator)
        for validator in field.validators
    )


def _binary(source: bytes | IO) -> IO[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    # An upload (Django's File) wraps the file object that reads.
    while hasattr(source, "file") and not isinstance(source, io.IOBase):
        source = source.file
    if isinstance(source, io.TextIOBase):
        raise TypeError("Pass the file's bytes or a binary stream.")
    return source


def _check_head(head: bytes) -> None:
    """Refuse, by its first bytes, a file that is not text (a workbook, a PDF, UTF-16...)."""
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            raise FileProblem(f"This file is {what}, not a CSV file. {SAVE_AS_CSV}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(f"This file is saved as UTF-16 (“Unicode text”). {SAVE_AS_CSV}")


def text_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Yield the file's lines as text, endings kept (CRLF, LF or a lone CR), refusing binary data as met."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        for line in text:
            if "\x00" in line:
                raise FileProblem(f"This file holds binary data (NUL bytes), not text. {SAVE_AS_CSV}")
            if CONTROL.search(line):
                raise FileProblem(f"This file holds binary data (control characters), not text. {SAVE_AS_CSV}")
            yield line
    finally:
        text.detach()


def count_lines(stream: IO[bytes]) -> int:
    """About how many rows the file has (its newlines), for the progress bar; the stream is rewound."""
    stream.seek(0)
    lines = 0
    last = b""
    while chunk := stream.read(1024 * 1024):
        lines += chunk.count(b"\n")
        last = chunk
    stream.seek(0)
    return max(1, lines - 1 + (0 if last.endswith(b"\n") else 1))


def csv_reader(lines: Iterator[str]) -> tuple[Any, list[str]]:
    """Return a csv reader over the lines (comma, semicolon or tab, sniffed) and the header it read."""
    head = []
    for line in lines:
        head.append(line)
        if sum(map(len, head)) > 4096:
            break
    try:
        dialect = csv.Sniffer().sniff("".join(head)[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_chain(head, lines), dialect=dialect)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise FileProblem(malformed(error, reader.line_num)) from error
    if header is None:
        raise FileProblem(NOT_CSV)
    return reader, header


def csv_records(
    lines: Iterator[str], aliases: dict[str, list[str]], required: Iterable, plan: Plan
) -> Iterator[tuple[int, dict[str, str]]]:
    """Read CSV by column names; yield (line, our field -> cell) for non-empty rows."""
    reader, header = csv_reader(lines)
    mapping = map_columns(header, aliases)
    missing = [
        ", ".join(name.replace("_", " ") for name in need) if isinstance(need, tuple) else need.replace("_", " ")
        for need in required
        if not (set(need) if isinstance(need, tuple) else {need}) & set(mapping)
    ]
    if missing:
        raise FileProblem(f"The first line must name the columns; missing: {'; '.join(missing)}.")
    yield from csv_cells(reader, {ours: [header.index(column)] for ours, column in mapping.items()})


def csv_cells(reader, index: dict[str, list[int]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, our field -> its first non-empty cell of the columns at `index`) for non-empty rows."""
    single = (
        [(ours, positions[0]) for ours, positions in index.items()]
        if all(len(positions) == 1 for positions in index.values())
        else None
    )
    # A full row of single columns (the usual case) is picked and stripped at C speed.
    names = [ours for ours, _ in single] if single and len(single) > 1 else None
    pick = operator.itemgetter(*(at for _, at in single)) if names else None
    needed = max((at for _, at in single), default=-1) + 1 if names else 0
    try:
        for cells in reader:
            width = len(cells)
            if names is not None and width >= needed:
                values = dict(zip(names, map(str.strip, pick(cells)), strict=True))
            elif single is not None:
                values = {ours: cells[at].strip() if at < width else "" for ours, at in single}
            else:
                values = {
                    ours: next((cell for at in positions if at < width and (cell := cells[at].strip())), "")
                    for ours, positions in index.items()
                }
            if any(values.values()):
                yield reader.line_num, values
    except csv.Error as error:
        raise FileProblem(malformed(error, reader.line_num)) from error


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def check(spec: ImportSpec, source: bytes | IO, *, options: dict, progress: Progress | None = None) -> Plan:
    """Read and check a file without saving anything; return its plan."""
    stream = _binary(source)
    head = stream.read(HEAD_BYTES)
    plan = Plan(spec=spec, options=options, kind=spec.kind)
    try:
        _check_head(head)
    except FileProblem as problem:
        plan.file_errors.append(str(problem))
        return plan
    total = count_lines(stream) if stream.seekable() else 0
    # UTF-8 first; a file that is not is read again in Windows' own encoding (what Excel saves "CSV" in).
    for encoding in ("utf-8-sig", "cp1252"):
        plan = Plan(spec=spec, options=options, kind=spec.kind)
        try:
            _check_rows(spec, plan, text_lines(stream, encoding), total, progress)
        except UnicodeDecodeError:
            plan.spool.close()
            continue
        except FileProblem as problem:
            plan.file_errors.append(str(problem))
        break
    else:
        plan.file_errors.append(f"This file is not in a text encoding we can read. {SAVE_AS_CSV}")
    if not plan.total and not plan.file_errors:
        plan.file_errors.append(spec.empty or f"The file has no {spec.nouns}.")
    if progress:
        progress(plan.total, max(plan.total, total))
    return plan


def _tidy_later(tables: list[str]) -> None:
    """Once a big import is saved, a task renews its tables' statistics and merges their search indexes'
    pending entries (crm.kernel.bulk.tidy): the next import's lookups and every page's plans then know the
    rows just added, without waiting for autovacuum, and the import does not wait for it."""
    from crm.kernel import tasks

    tasks.tidy_tables.delay(tables)


def check_records(spec: ImportSpec, records: Iterable[dict], *, options: dict) -> Plan:
    """Check records that are not a file (JSON from the API): the same rules, lines counting records from 1."""
    plan = Plan(spec=spec, options=options, kind=spec.kind)
    _check_rows(spec, plan, None, 0, None, records=enumerate(records, start=1))
    return plan


def _check_rows(spec: ImportSpec, plan: Plan, lines, total: int, progress, records=None) -> None:
    context = spec.context(plan.options)
    form = spec.form(context)
    batch: list[RowResult] = []
    read = 0
    matching: _Matching | None = None  # the last full batch, matched while the next one is read
    try:
        for line, values in records if records is not None else spec.records(lines, plan):
            if read >= spec.max_rows:
                too_many = f"The file has more than {spec.max_rows:,} {spec.nouns}; split it into smaller files."
                raise FileProblem(too_many)
            batch.append(spec.read(form, line, values, context))
            read += 1
            if len(batch) >= spec.batch_size:
                if matching:
                    matching.finish()
                # Here no query is outstanding: progress may use the database (a cache in PostgreSQL).
                if progress:
                    progress(read, max(total, read))
                matching = _Matching(spec, plan, batch, context)
                batch = []
            elif progress and read % PROGRESS_EVERY == 0 and not (matching and matching.ahead):
                progress(read, max(total, read))
        if matching:
            matching.finish()
        if batch:
            _Matching(spec, plan, batch, context).finish()
    except FileProblem:
        # The whole file fails; the report still counts the full batches read before (as it always has).
        if matching and not matching.done:
            matching.finish()
        raise
    finally:
        if matching:
            matching.close(*sys.exc_info())


class _Matching:
    """One batch being matched. With a kind's match_ahead, its queries are sent in psycopg's pipeline mode
    and answered while the next batch is read (PostgreSQL works on the other core); finish() reads the
    answers, leaves pipeline mode and adds the batch to the plan."""

    def __init__(self, spec: ImportSpec, plan: Plan, batch: list[RowResult], context: dict) -> None:
        self.plan, self.batch, self.pipeline, self.done = plan, batch, None, False
        good = [row for row in batch if not row.errors]
        self.ahead = bool(good) and spec.match_ahead
        if self.ahead:
            connection.ensure_connection()
            self.pipeline = connection.connection.pipeline()
            self.pipeline.__enter__()
        try:
            self.rest = spec.match_later(good, context, plan) if good else _nothing
        except BaseException:
            self.close(*sys.exc_info())
            raise

    def finish(self) -> None:
        try:
            self.rest()
        except BaseException:
            self.close(*sys.exc_info())
            raise
        self.close()
        self.plan.add(self.batch)
        self.done = True

    def close(self, *exc_info) -> None:
        """Leave pipeline mode (at once, if the check stopped with the answers unread). With the exception
        that stopped it, psycopg only logs an error of its own, so that one is what the caller sees."""
        pipeline, self.pipeline, self.ahead = self.pipeline, None, False
        if pipeline is not None:
            with connection.wrap_database_errors:
                pipeline.__exit__(*(exc_info or (None, None, None)))


def _nothing() -> None:
    return None


def commit(plan: Plan, *, user, progress: Progress | None = None) -> dict:
    """Save a checked plan, all or nothing; return the kind's summary."""
    if not plan.is_valid:
        raise ValidationError("The file has errors; nothing was imported.")
    total, done = plan.to_import + plan.already_imported, 0
    with transaction.atomic():
        state = plan.spec.commit_start(plan, user=user)
        for batch in plan.spool:
            plan.spec.commit_batch(batch, state, plan)
            done += len(batch)
            if progress:
                progress(done, total)
        summary = plan.spec.commit_end(state, plan)
        if plan.to_import >= settings.IMPORT_TIDY_AFTER_ROWS and plan.spec.tables:
            tables = [model._meta.db_table for model in plan.spec.tables]
            transaction.on_commit(lambda: _tidy_later(tables), robust=True)
    plan.spool.close()
    if progress:
        progress(total, total)
    return summary


# --- the one preview and confirm flow of the import pages -------------------------------------------


def preview_and_confirm(
    request,
    *,
    kind,
    name: str,
    form,
    options: Callable[[dict], dict],
    template: str,
    done: Callable[[dict], str],
    back: str,
    context: dict | None = None,
):
    """Upload, see every bad row by line or what the file would do, then confirm to import it all at once.

    `kind` is an import kind's module (its check and commit); `name` keys the file waiting between preview
    and confirmation (crm.uploads); `options(form.cleaned_data)` are the choices kept with it; `done(summary)`
    is the message after the import; `back` is the URL name to go to after it.
    """
    from django.contrib import messages
    from django.shortcuts import redirect, render

    from crm.kernel import uploads

    context = {"form": form, **(context or {})}
    if request.method == "POST" and "confirm" in request.POST:
        kept = uploads.take(request, name, request.POST.get("token"))
        if kept is None:
            messages.error(request, "That preview has expired. Upload the file again.")
            return redirect(request.path)
        raw, kept_options = kept
        plan = kind.check(raw, options=kept_options)
        if not plan.is_valid:
            return render(request, template, {**context, "plan": plan})
        summary = kind.commit(plan, user=request.user)
        uploads.discard(request, name, imported=True)
        messages.success(request, done(summary))
        return redirect(back)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        chosen = options(form.cleaned_data)
        upload.seek(0)
        # A big file is checked and imported by a worker (crm.kernel.import_jobs); its page shows the progress.
        from crm.kernel import views_imports

        if big := views_imports.start_if_big(
            request, kind=name, raw=upload.read(), file_name=upload.name, options=chosen
        ):
            return big
        upload.seek(0)
        plan = kind.check(upload, options=chosen)
        context["plan"] = plan
        if plan.is_valid:
            upload.seek(0)
            context["token"] = uploads.stash(request, name, upload.read(), chosen)
    return render(request, template, context)
