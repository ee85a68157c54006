"""The floor the staff pages are measured against (benchmarks/http_load.py): the least a page can do.

Routed only when settings.BENCHMARK_VIEWS is on, which nothing but the benchmark turns on.
"""

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from crm.kernel.models import Location


@login_not_required
@require_GET
def floor(request, pk: int):
    """Render one location, read by its primary key, into a small template."""
    location = get_object_or_404(Location.objects.only("pk", "name"), pk=pk)
    return render(request, "benchmark/floor.html", {"location": location})
