"""Fast bulk writes on PostgreSQL: COPY rows into a temporary table, then one set-based statement.

Used by imports, where a statement with thousands of placeholders costs more to build than to run.
"""

from __future__ import annotations

from collections.abc import Iterable


def copy_into_temp(cursor, name: str, columns: str, rows: Iterable[tuple]) -> None:
    """Create (or empty) a temporary table `name` with `columns` and COPY `rows` into it."""
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {name}")
    with cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
