"""Fast bulk writes on PostgreSQL: COPY rows into a temporary table, then one set-based statement.

Used by imports, where a statement with thousands of placeholders costs more to build than to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models.expressions import RawSQL
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter


def copy_into_temp(cursor, name: str, columns: str, rows: Iterable[tuple]) -> None:
    """Create (or empty) a temporary table `name` with `columns` and COPY `rows` into it."""
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {name}")
    with cursor.db.wrap_database_errors, cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def any_id(ids: Iterable[int]) -> RawSQL:
    """The right-hand side of `pk__in=` for thousands of ids: one array parameter (`IN (SELECT unnest(...))`)
    instead of a placeholder each, which Django and psycopg take longer to build than PostgreSQL to run."""
    return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])


def fetch_later(sql_text: str, params: list) -> Callable[[], list[tuple]]:
    """Send a query now; the function returned reads its rows. In psycopg's pipeline mode (an import reads
    its next batch meanwhile: crm.kernel.imports) PostgreSQL runs it while this process goes on; otherwise
    it runs here and now."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql_text, params)
    except BaseException:
        cursor.close()
        raise

    def rows() -> list[tuple]:
        with cursor:
            return cursor.fetchall()

    return rows


def next_ids(cursor, table: str, count: int) -> list[int]:
    """Take `count` ids from the table's id sequence at once (rows written by COPY get them up front)."""
    if not count:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def copy_rows(cursor, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY rows (tuples in `columns` order) into a table.

    A worker thread sends the data (psycopg's QueuedLibpqWriter), so this process formats the next rows
    while PostgreSQL writes the last ones and their indexes, on another core."""
    names = ", ".join(f'"{column}"' for column in columns)
    sql = f"COPY {table} ({names}) FROM STDIN"
    # Django's own error types (IntegrityError, DatabaseError), as for any other statement.
    with cursor.db.wrap_database_errors, cursor.cursor.copy(sql, writer=QueuedLibpqWriter(cursor.cursor)) as copy:
        for row in rows:
            copy.write_row(row)


def tidy(tables: Iterable[str] = ()) -> None:
    """What autovacuum would do soon after a bulk load, done now (it may lag, or be off): renew the
    planner's statistics of these tables (all tables when none are named) and merge the pending entries
    of their GIN indexes into the indexes, which every search through them reads until they are merged.
    Runs in or out of a transaction (it never VACUUMs). Tables and indexes this database user does not own
    are left alone (PostgreSQL allows only their owner either)."""
    tables = list(tables)
    with connection.cursor() as cursor:
        # Names as identifiers, quoted by psycopg: whatever a task was sent, it is never SQL.
        names = ", ".join(sql.Identifier(table).as_string(cursor.connection) for table in tables)
        # ANALYZE skips, with a warning, a table this user may not analyze.
        cursor.execute(f"ANALYZE {names}")
        cursor.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE am.amname = 'gin' AND i.indisvalid AND pg_has_role(c.relowner, 'USAGE') "
            "AND pg_table_is_visible(t.oid) AND (cardinality(%s::text[]) = 0 OR t.relname = ANY(%s::text[]))",
            [tables, tables],
        )
