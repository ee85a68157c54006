"""Time the purchase import end to end (check + commit) against issue 18's budgets; write docs/benchmarks.md.

    createdb -h 127.0.0.1 -U postgres crm_imports_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_imports_bench python benchmarks/imports.py

Two runs on an emptied database: 100,000 purchases of 25,000 customers not known yet (the import creates
them), then 100,000 more purchases of those same customers (all matched). The files are generated here and
read as a stream. Never run in CI: the figures are written down, not asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import re
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_imports_bench")

import django

django.setup()

from django.core.management import call_command
from django.db import connection

from crm.kernel.models import Location
from customers.models import Customer
from journeys import importer
from journeys.models import Interaction

BUDGETS = {"new": 15.0, "existing": 8.0}
START, END = "<!-- imports:start -->", "<!-- imports:end -->"


def purchases_file(rows: int, customers: int, prefix: str, location: str) -> bytes:
    """A till's purchase export: email, name, time, touchpoint, amount, receipt number, shop."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "first name", "last name", "date", "touchpoint", "amount", "receipt", "location"])
    for i in range(rows):
        c = i % customers
        writer.writerow(
            [
                f"customer.{c}@example.com",
                f"First{c}",
                f"Last{c}",
                f"2026-{1 + i % 9:02d}-{1 + i % 27:02d} {8 + i % 10:02d}:{i % 60:02d}",
                "in-store",
                f"{5 + i % 300}.{i % 100:02d}",
                f"{prefix}-{i}",
                location,
            ]
        )
    return buffer.getvalue().encode()


def empty_database() -> None:
    """Remove what an earlier run imported (DELETE: the ledger refuses TRUNCATE ... CASCADE)."""
    with connection.cursor() as cursor:
        for table in (
            "journeys_interaction",
            "journeys_customerjourneystat",
            "journeys_touchpointmonth",
            "customers_customer_locations",
            "customers_customer_tags",
            "customers_customer",
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own tables
        # Each run starts from tidy tables and fresh statistics, not the dead rows of the last one.
        cursor.execute("VACUUM ANALYZE customers_customer, journeys_interaction, journeys_customerjourneystat")


def run_import(raw: bytes, location: Location, memory: bool) -> tuple[float, float, dict, int]:
    """Check and commit one file; return (seconds, this process's CPU seconds, summary, peak Python memory in
    bytes or 0 untraced)."""
    if memory:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    if hasattr(importer, "check"):
        plan = importer.check(io.BytesIO(raw), options={"location": location.pk, "create": True})
        assert plan.is_valid, [(row.line, row.messages) for row in plan.bad_rows[:3]] or plan.file_errors
        summary = importer.commit(plan, user=None)
    else:  # the importer before the import framework
        plan = importer.plan_file(raw, default_location=location, create_customers=True)
        assert plan.is_valid, plan.bad_rows[:3] or plan.file_errors
        summary = importer.run(plan)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if memory else 0
    tracemalloc.stop()
    return seconds, cpu, summary, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--label", default="", help="what is measured (e.g. 'before'), for the report")
    parser.add_argument("--memory", action="store_true", help="also trace Python memory (slows the run)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    location, _ = Location.objects.get_or_create(name="Bench Street", defaults={"timezone": "America/New_York"})
    empty_database()
    results = []
    for name, prefix in (("new", "A"), ("existing", "B")):
        raw = purchases_file(args.rows, args.customers, prefix, location.name)
        load = os.getloadavg()[0]
        seconds, cpu, summary, peak = run_import(raw, location, args.memory)
        verdict = "ok" if seconds <= BUDGETS[name] else f"OVER {BUDGETS[name]:.0f} s"
        memory = f"{peak / 2**20:.0f} MB" if args.memory else ""
        print(f"{name:<9} {seconds:6.1f} s (cpu {cpu:.1f} s, load {load:.1f})  {summary}  {memory}  {verdict}")
        results.append((name, seconds, cpu, load, memory, verdict))
    assert Customer.objects.count() == args.customers
    assert Interaction.objects.count() == 2 * args.rows
    write_report(args, results)


def write_report(args, results) -> None:
    out = ROOT / "docs" / "benchmarks.md"
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    what = {
        "new": f"{args.rows:,} purchases creating {args.customers:,} new customers",
        "existing": f"{args.rows:,} purchases of {args.customers:,} existing customers",
    }
    previous = re.search(re.escape(START) + "(.*?)" + re.escape(END), text, re.S)
    kept = [line for line in (previous.group(1).splitlines() if previous else []) if re.match(r"\| \d{4}-", line)]
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    rows = [
        f"| {when} UTC {args.label} | {what[name]} | {seconds:.1f} | {cpu:.1f} | {load:.1f} | "
        f"{memory} | {BUDGETS[name]:.0f} | {verdict} |"
        for name, seconds, cpu, load, memory, verdict in results
    ]
    section = "\n".join(
        [
            START,
            "## Imports (`benchmarks/imports.py`)",
            "",
            f"Check + commit of a generated purchase CSV, end to end in-process; {platform.machine()}, "
            f"{os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}. Seconds are wall-clock; CPU is "
            "this process's own (PostgreSQL's work is in the wall time only); load is the machine's load average "
            "when the run started (other work on the same 2 cores stretches the wall time). Newest last.",
            "",
            "| run | file | seconds | CPU s | load | peak Python memory | budget s | verdict |",
            "|---|---|---:|---:|---:|---:|---:|---|",
            *kept,
            *rows,
            END,
        ]
    )
    text = text.replace(previous.group(0), section) if previous else text.rstrip("\n") + "\n\n" + section + "\n"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
