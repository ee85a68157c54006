"""Fill a migrated database with N customers in one SQL statement (generate_series), for search timing at scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_1m python benchmarks/seed_customers_sql.py 1000000

Customers only (no notes, visits or dates), names from the same lists as `seed_scale`, spread over its
locations; PostgreSQL computes search_name and phone_digits itself. Minutes where `seed_scale` takes an hour.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.db import connection

from crm.demo.management.commands.seed_scale import FIRST_NAMES, LAST_NAMES
from crm.kernel.models import Location

INSERT = """
INSERT INTO customers_customer (
    first_name, last_name, preferred_name, email, phone, external_id, preferences, visit_count,
    search_document, created_at, updated_at, home_location_id)
SELECT f.name, l.name, '', lower(f.name || '.' || l.name || '.' || g || '@example.com'),
       '+1207' || lpad((g %% 10000000)::text, 7, '0'), '', '', 0, '', now(), now(),
       (%(locations)s::bigint[])[1 + g %% cardinality(%(locations)s::bigint[])]
FROM generate_series(%(start)s, %(end)s) AS g
CROSS JOIN LATERAL (
    SELECT (%(first)s::text[])[1 + (hashint4(g) & 2147483647) %% cardinality(%(first)s::text[])] AS name) f
CROSS JOIN LATERAL (
    SELECT (%(last)s::text[])[1 + (hashint4(g + 7) & 2147483647) %% cardinality(%(last)s::text[])] AS name) l
"""


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    locations = list(Location.objects.values_list("pk", flat=True))
    if not locations:
        locations = [Location.objects.create(name="Downtown", timezone="America/New_York").pk]
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM customers_customer")
        have = cursor.fetchone()[0]
        for start in range(have + 1, have + total + 1, 100_000):
            end = min(start + 99_999, have + total)
            cursor.execute(
                INSERT,
                {"locations": locations, "first": FIRST_NAMES, "last": LAST_NAMES, "start": start, "end": end},
            )
            print(f"[{time.monotonic() - started:6.1f}s] {end:,} customers", flush=True)
        cursor.execute(
            "INSERT INTO customers_customer_locations (customer_id, location_id) "
            "SELECT id, home_location_id FROM customers_customer WHERE id > %s",
            [have],
        )
        cursor.execute("VACUUM ANALYZE customers_customer")
    print(f"done in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
