"""Time the pages and queries that must stay fast at scale; write docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/run.py [--seed]

With --seed it first fills an empty database with `seed_scale` (100,000
customers, 1,000,000 notes). Figures are medians of repeated runs, measured
in-process (server time, no network). Never run in CI: results are written
down, not asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from crm.kernel.models import (
    Location,
    User,
)
from customers.models import Customer, FollowUp, ImportantDate, Note
from customers.selectors import search_customers

RESULTS: list[tuple[str, str, str, str]] = []
REPEAT = 15


class QueryCounter:
    """Count the SQL statements run, even across the test client's request signals."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def timed(label: str, func, repeat: int = REPEAT, budget_ms: float | None = None, warm: bool = True) -> float:
    """Run func repeatedly; record the median time in ms and the query count of one run.

    With warm=False (slow, one-off work such as an import) it runs once, timed and counted.
    """
    queries = QueryCounter()
    samples = []
    if warm:
        func()  # warm caches and connections
        with connection.execute_wrapper(queries):
            func()
    for _ in range(repeat):
        start = time.perf_counter()
        if warm:
            func()
        else:
            with connection.execute_wrapper(queries):
                func()
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    verdict = "" if budget_ms is None else ("ok" if median <= budget_ms else f"OVER {budget_ms:.0f} ms")
    RESULTS.append((label, f"{median:.1f}", str(queries.count), verdict))
    print(f"{label:<60} {median:8.1f} ms  {queries.count:3d} queries  {verdict}")
    return median


def bench_sweep() -> None:
    """Time one full reminder sweep (raising included), rolled back so every run finds the same due rows."""
    from crm.inbox import reminders

    dates = ImportantDate.objects.count()
    follow_ups = FollowUp.objects.filter(status="open").count()
    found = {}

    def run():
        with transaction.atomic():
            sweep_run = reminders.sweep()
            found.update(sweep_run.raised)
            transaction.set_rollback(True)

    timed(
        f"reminder sweep: {dates:,} dates, {follow_ups:,} open follow-ups, {Customer.objects.count():,} customers",
        run,
        repeat=3,
        budget_ms=5000,
    )
    due = sum(v for k, v in found.items() if k.endswith(" due"))
    raised = sum(v for k, v in found.items() if k.endswith(" raised"))
    RESULTS.append((f"  (that sweep found {due:,} rows due and raised {raised:,} notifications)", "", "", ""))
    print(RESULTS[-1][0])
    with transaction.atomic():
        plan = reminders.due_date_ids(timezone.localdate(), list(Location.objects.values_list("pk", flat=True)))
        explained = plan.explain()
    index = "the next_prompt_on index" if "important_date_prompt_due" in explained else "NO INDEX"
    RESULTS.append((f"  (the due-dates query uses {index})", "", "", ""))
    print(RESULTS[-1][0])


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bench_journeys(client: Client) -> None:
    """The observed journey map of the largest persona, through the page."""
    from journeys.models import CustomerPersona, Interaction, Persona

    persona = Persona.objects.order_by("pk").first()
    if persona is None:
        return
    members = CustomerPersona.objects.filter(persona=persona).count()
    interactions = Interaction.objects.count()

    def run():
        response = client.get(f"/journeys/personas/{persona.pk}/")
        assert response.status_code == 200

    timed(
        f"journey map of '{persona.name}' ({members:,} customers; {interactions:,} interactions in all)",
        run,
        repeat=5,
        budget_ms=300,
    )


def bench_loyalty() -> None:
    """The owner's dashboard for the last 12 months (from its snapshot) and the report computing every figure."""
    from django.contrib.auth.models import Group

    from crm.insights import loyalty
    from crm.kernel.models import Snapshot

    owner, _ = User.objects.get_or_create(username="bench-owner")
    owner.groups.add(Group.objects.get(name="Owner"))
    client = client_for(owner)
    start, end = loyalty.standard_ranges(timezone.localdate())["Last 12 months"]
    filters = loyalty.Filters(start, end)
    interactions = __import__("journeys.models", fromlist=["Interaction"]).Interaction.objects.count()
    timed(
        f"loyalty_report --json --fresh, one year ({interactions:,} interactions): compute every figure now",
        lambda: loyalty.compute(filters),
        repeat=3,
    )
    Snapshot.objects.filter(key=loyalty.snapshot_key(filters)).delete()
    gestures = __import__("microcx.models", fromlist=["Gesture"]).Gesture.objects.filter(status="delivered").count()
    timed(
        "loyalty snapshot task: 3 standard ranges x (every location and all)",
        loyalty.refresh_snapshots,
        repeat=1,
        warm=False,
    )
    timed(
        f"impact snapshot task: the matched comparison of {gestures:,} delivered gestures, and the hold-outs",
        loyalty.refresh_impact,
        repeat=1,
        warm=False,
    )

    def report():
        call_command("loyalty_report", "--json", stdout=__import__("io").StringIO())

    timed("loyalty_report --json, one year (the snapshots the tasks keep)", report, repeat=5, budget_ms=2000)

    def page():
        response = client.get("/dashboard/")
        assert response.status_code == 200

    timed("loyalty dashboard, last 12 months (from the snapshot Celery keeps)", page, budget_ms=300)


def bench_import(rows: int = 100_000) -> None:
    """Import a CSV of 100,000 visits for existing customers (rolled back afterwards)."""
    import csv
    import io

    from journeys import importer

    emails = list(Customer.objects.order_by("pk").values_list("email", flat=True)[:rows])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "date", "touchpoint", "amount", "reference", "location"])
    location = Location.objects.order_by("pk").first().name
    for i in range(rows):
        writer.writerow(
            [
                emails[i % len(emails)],
                f"2026-{1 + i % 9:02d}-{1 + i % 27:02d} 10:00",
                "in-store",
                f"{20 + i % 300}.00",
                f"BENCH-{i}",
                location,
            ]
        )
    raw = buffer.getvalue().encode()
    result = {}

    def run():
        with transaction.atomic():
            plan = importer.check(raw, options={})
            assert plan.is_valid, plan.bad_rows[:3]
            result.update(importer.commit(plan, user=None))
            transaction.set_rollback(True)

    timed(
        f"import {rows:,} interaction rows from CSV (check + import, one transaction)", run, repeat=1, budget_ms=30_000
    )


def explain(sql_label: str, queryset) -> str:
    plan = queryset.explain()
    uses_seq_scan = "Seq Scan on customers_customer" in plan
    print(f"plan for {sql_label}: {'SEQUENTIAL SCAN' if uses_seq_scan else 'index'}")
    return plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true", help="fill an empty database with seed_scale first")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--notes-per-customer", type=float, default=10)
    parser.add_argument(
        "--dates-total", type=int, default=0, help="grow the dates table to this many, then sweep again"
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if args.seed and not Customer.objects.exists():
        # 0.715 follow-ups a customer, 70% of them open: about 50,000 open follow-ups at 100,000 customers.
        call_command(
            "seed_scale",
            customers=args.customers,
            notes_per_customer=args.notes_per_customer,
            follow_ups_per_customer=0.715,
            interactions_per_customer=20,
        )

    customers, notes = Customer.objects.count(), Note.objects.count()
    print(f"{customers:,} customers, {notes:,} notes")
    frontline = User.objects.filter(username="scale-staff-1").first() or User.objects.filter(is_active=True).first()
    # Search as a manager sees it (all locations): the hardest case for the index.
    manager = User.objects.filter(groups__name="Manager").first()
    if manager is None:
        manager, _ = User.objects.get_or_create(username="bench-manager")
        from django.contrib.auth.models import Group

        manager.groups.add(Group.objects.get(name="Manager"))
    mine = Customer.objects.filter(visit_count__gt=0, home_location__in=frontline.locations.all()).order_by("pk")
    sample = mine[mine.count() // 2]
    typo = sample.first_name[:-1] + "x " + sample.last_name  # one letter wrong

    def search(user, query):
        def run():
            with transaction.atomic():
                return list(search_customers(user, query)[:25])

        return run

    timed(f"search misspelt name '{typo}' (manager, all shops)", search(manager, typo), budget_ms=100)
    timed(f"search misspelt name '{typo}' (frontline, one shop)", search(frontline, typo), budget_ms=100)
    timed(f"search phone '{sample.phone[-7:]}'", search(manager, sample.phone[-7:]), budget_ms=100)
    timed(f"search email '{sample.email}'", search(manager, sample.email), budget_ms=100)
    timed("search tag 'varifocals'", search(manager, "varifocals"), budget_ms=100)
    with transaction.atomic():
        plan = explain("misspelt-name search", search_customers(manager, typo)[:25])

    client = Client()
    client.force_login(frontline)

    def page(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return run

    bench_sweep()
    if args.dates_total:
        have = ImportantDate.objects.count()
        if have < args.dates_total:
            from crm.demo.management.commands.seed_scale import Command as SeedScale

            seeder = SeedScale()
            seeder.rng, seeder.started = __import__("random").Random(2), time.monotonic()
            pks = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
            # Dates that are not due for weeks: the table grows, what is due does not.
            seeder.seed_dates(pks, (args.dates_total - have) / len(pks), not_due_for_days=30)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE customers_importantdate")
        bench_sweep()

    bench_journeys(client_for(frontline))
    bench_loyalty()
    bench_import()

    timed(f"customer page /customers/{sample.pk}/ (brief + timeline)", page(f"/customers/{sample.pk}/"), budget_ms=150)
    timed(
        f"customer timeline page 3 /customers/{sample.pk}/timeline/", page(f"/customers/{sample.pk}/timeline/?page=3")
    )
    timed("home page (Today)", page("/"), budget_ms=150)
    timed("customer list, search 'smith' (htmx)", page("/customers/?q=smith"), budget_ms=150)
    write_report(customers, notes, plan)


def write_report(customers: int, notes: int, plan: str) -> None:
    out = ROOT / "docs" / "benchmarks.md"
    lines = [
        "# Benchmarks",
        "",
        f"Written by `benchmarks/run.py` on {time.strftime('%Y-%m-%d')}; {platform.machine()}, "
        f"{os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}. "
        f"Data: {customers:,} customers, {notes:,} notes (`seed_scale`). "
        f"Median of {REPEAT} runs, server time in-process.",
        "",
        "| measurement | median ms | queries | budget |",
        "|---|---:|---:|---|",
        *[f"| {label} | {ms} | {queries} | {verdict} |" for label, ms, queries, verdict in RESULTS],
        "",
        "Query plan of the misspelt-name search:",
        "",
        "```",
        plan,
        "```",
        "",
    ]
    # The other runners' sections (imports, HTTP: each opens with an HTML comment marker) and the notes
    # between them follow this runner's table: keep everything from the first marker on.
    kept = out.read_text() if out.exists() else ""
    markers = [kept.index(m) for m in ("<!-- imports:start -->", "<!-- http-load:begin -->") if m in kept]
    if markers:
        lines += [kept[min(markers) :]]
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
