"""Database time of each search path (EXPLAIN ANALYZE, planning + execution) on the database DATABASE_URL names.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/search_scale.py [-v]

Prints the median and the fastest of 15 runs (the fastest is the least disturbed by other work on a busy
machine) and, with -v, the plans. The misspelt-name budget is 10 ms at 100,000 and at 1,000,000 customers.
"""

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
import django

django.setup()
from django.contrib.auth.models import Group
from django.db import connection, transaction

from crm.kernel.models import User
from customers.models import Customer
from customers.selectors import search_customers

manager = User.objects.filter(groups__name="Manager").first()
if manager is None:
    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get(name="Manager"))
n = Customer.objects.count()
sample = Customer.objects.order_by("pk")[n // 2]
queries = {
    "misspelt name": sample.first_name[:-1] + "x " + sample.last_name,
    "misspelt surname only": sample.last_name[:-1] + "x",
    "phone last 7": sample.phone[-7:],
    "email": sample.email,
}
print(f"{n:,} customers; sample {sample.first_name} {sample.last_name}")
for label, q in queries.items():
    with transaction.atomic():
        qs = search_customers(manager, q)
        rows = list(qs)
        assert label.startswith("misspelt surname") or sample in rows, (label, q, rows[:3])
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as c:
            times = []
            for _ in range(15):
                c.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
                plan = c.fetchone()[0][0]
                times.append(plan["Planning Time"] + plan["Execution Time"])
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            text = "\n".join(r[0] for r in c.fetchall())
    median, fastest = statistics.median(times), min(times)
    print(f"{label:<25} {q!r:<36} rows {len(rows):3d}  db median {median:6.2f} ms, fastest {fastest:6.2f} ms")
    if "-v" in sys.argv:
        print(text)
