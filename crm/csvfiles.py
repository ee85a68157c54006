"""Reading the CSV files people export from their own spreadsheets, tills and booking systems."""

from __future__ import annotations

import csv
import io

NOT_CSV = "The file is not a CSV file. Save it as CSV (UTF-8) and try again."


def open_csv(raw: bytes) -> csv.DictReader | None:
    """Return a reader over the file's rows (UTF-8, or Windows' own encoding; comma, semicolon or tab),
    or None when the file is not text."""
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        return None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.DictReader(io.StringIO(text), dialect=dialect)


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
