"""Reading the CSV files people export from their own spreadsheets, tills and booking systems."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

NOT_CSV = "The file is not a CSV file. Save it as CSV (UTF-8) and try again."
SAVE_AS_CSV = "Save it as CSV (UTF-8) and try again."
# What the first bytes of a file say it is, for the files people pick by mistake instead of their CSV.
SIGNATURES = [
    (b"PK\x03\x04", "an Excel workbook or a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)"),
    (b"%PDF-", "a PDF"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG photo"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x7fELF", "a program"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
]
# Control characters have no place in a spreadsheet's text (tab, newline and carriage return do).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_csv(raw: bytes) -> str | None:
    """Return the file's text (UTF-8, or Windows' own encoding that Excel saves "CSV" in), or None."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def csv_problem(raw: bytes) -> str | None:
    """Say, in the user's words, why these bytes are not a CSV file we can read; None when they are."""
    for signature, what in SIGNATURES:
        if raw.startswith(signature):
            return f"This file is {what}, not a CSV file. {SAVE_AS_CSV}"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"This file is saved as UTF-16 (“Unicode text”). {SAVE_AS_CSV}"
    if b"\x00" in raw:
        return f"This file holds binary data (NUL bytes), not text. {SAVE_AS_CSV}"
    text = decode_csv(raw)
    if text is None:
        return f"This file is not in a text encoding we can read. {SAVE_AS_CSV}"
    if CONTROL.search(text):
        return f"This file holds binary data (control characters), not text. {SAVE_AS_CSV}"
    return None


class CsvError(ValueError):
    """The file cannot be read as CSV; str() says why, in the user's words, with the line."""


def malformed(error: csv.Error, line: int) -> str:
    """Say what a csv.Error means for the person who picked the file."""
    if "field larger than field limit" in str(error):
        return (
            f"Line {line or 1}: a cell is longer than {csv.field_size_limit() // 1024} KB, "
            "which no spreadsheet column holds. Is this the right file?"
        )
    return f"Line {line or 1}: the CSV is malformed ({error})."


def open_csv(raw: bytes) -> csv.DictReader | None:
    """Return a reader over the file's rows (UTF-8, or Windows' own encoding; comma, semicolon or tab;
    lines ending in CRLF, LF or a lone CR), with its header read, or None when the file is not text.

    Raises CsvError when the header line cannot be read; errors in later rows are csv.Error, for
    the caller to report with `malformed`.
    """
    text = decode_csv(raw) if csv_problem(raw) is None else None
    if text is None:
        return None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the csv module splits lines itself, on any of CRLF, LF and a lone CR (old Macs).
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        reader.fieldnames  # noqa: B018 - reads the header line now, where its errors can be reported
    except csv.Error as error:
        raise CsvError(malformed(error, reader.line_num)) from error
    return reader


def map_columns(fieldnames: list[str] | None, aliases: dict[str, list[str]]) -> dict[str, str]:
    """Map our field names to the file's own column names ("First name", "first_name"...); first match wins."""
    wanted = {name: {alias.replace("_", " ") for alias in names} for name, names in aliases.items()}
    mapping: dict[str, str] = {}
    for column in fieldnames or []:
        key = " ".join((column or "").strip().lower().replace("_", " ").split())
        ours = next((name for name, names in wanted.items() if key in names and name not in mapping), None)
        if ours:
            mapping[ours] = column
    return mapping


# --- writing CSV for spreadsheets ------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|...,
# @SUM(...)); tab and carriage return too, and the full-width forms some spreadsheets read as the same.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A plain number ("-20.00", "+12075550101") is safe: no spreadsheet can run it, so it stays a number.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value):
    """Return the value as a spreadsheet may read it without running it (OWASP's CSV injection advice):
    text that starts like a formula gets a leading apostrophe; numbers and number-like text stay as they are."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer for files people open in a spreadsheet: every cell goes through safe_cell."""

    def __init__(self, stream, **options):
        self.writer = csv.writer(stream, **options)

    def writerow(self, row):
        return self.writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
