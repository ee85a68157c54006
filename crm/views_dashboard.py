"""The owners' loyalty dashboard and the customers behind each figure."""

import datetime
import json

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from crm import loyalty, roles
from crm.access import require_perm
from crm.models import Location


def filters_from(request) -> loyalty.Filters:
    """Read the range and location; managers see their own locations only."""
    today = timezone.localdate()
    default_start, default_end = loyalty.standard_ranges(today)["Last 12 months"]
    try:
        start = datetime.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = default_start
    try:
        end = datetime.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = default_end
    if end < start:
        start, end = end, start
    start = max(start, end - datetime.timedelta(days=3 * 366))  # three years at most
    allowed = None if roles.is_owner(request.user) else tuple(request.user.locations.values_list("pk", flat=True))
    location = None
    if location_id := request.GET.get("location"):
        locations = Location.objects.all() if allowed is None else Location.objects.filter(pk__in=allowed)
        location = locations.filter(pk=location_id).first() if location_id.isdigit() else None
        if location is None:
            raise Http404("No such location")
    return loyalty.Filters(start, end, location, allowed)


@require_perm("crm.view_loyalty_dashboard")
def dashboard(request):
    filters = filters_from(request)
    figures = loyalty.figures(filters)
    locations = Location.objects.all() if filters.allowed is None else Location.objects.filter(pk__in=filters.allowed)
    query = {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    if filters.location:
        query["location"] = filters.location.pk
    context = {
        "f": figures,
        "filters": filters,
        "locations": locations,
        "ranges": loyalty.standard_ranges(timezone.localdate()),
        "definitions": loyalty.DEFINITIONS,
        "query": "&".join(f"{k}={v}" for k, v in query.items()),
        "as_of": datetime.datetime.fromisoformat(figures["computed_at"]),
        "chart_json": json.dumps(
            {
                "monthly": figures["monthly"],
                "touchpoints": figures["touchpoints"],
                "categories": figures["microcx"]["by_category"],
            }
        ),
    }
    return render(request, "crm/dashboard.html", context)


def _is_month(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value + "-01")
    except ValueError:
        return False
    return len(value) == 7


@require_perm("crm.view_loyalty_dashboard")
def customers_behind(request):
    """The customers a dashboard figure counts."""
    filters = filters_from(request)
    figure = request.GET.get("figure", "")
    if figure not in loyalty.FIGURES:
        raise Http404("No such figure")
    cohort, month = request.GET.get("cohort"), request.GET.get("month")
    for value in (cohort, month):
        if value is not None and not _is_month(value):
            raise Http404("Months look like 2026-01")
    customers = loyalty.customers_behind(figure, filters, cohort, month)
    page = Paginator(customers.select_related("home_location").order_by("first_name", "last_name", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "crm/dashboard_customers.html",
        {
            "page": page,
            "figure": figure,
            "filters": filters,
            "definition": loyalty.DEFINITIONS.get(
                {"repeat": "repeat_rate", "referred": "word_of_mouth", "gesture": "microcx", "cohort": "cohorts"}.get(
                    figure, figure
                ),
                "",
            ),
            "query": request.GET.urlencode(),
        },
    )
