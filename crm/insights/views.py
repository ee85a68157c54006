"""The owners' loyalty dashboard, the customers behind each figure, and the win-back rule."""

import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from crm.insights import loyalty
from crm.insights.forms import LoyaltyRangeForm, LoyaltyRuleForm
from crm.insights.models import LoyaltyRule
from crm.insights.services import loyalty_rule_set
from crm.kernel import roles
from crm.kernel.access import locations_for, require_perm
from crm.kernel.forms import day_from
from crm.kernel.models import Location


def filters_from(request) -> tuple[loyalty.Filters | None, LoyaltyRangeForm]:
    """Read the range and location; managers see their own locations only.

    A bad or reversed range gives no filters, and the form says what is wrong beside the field.
    """
    today = timezone.localdate()
    form = LoyaltyRangeForm(request.GET, default=loyalty.standard_ranges(today)["Last 12 months"])
    allowed = None if roles.is_owner(request.user) else tuple(request.user.locations.values_list("pk", flat=True))
    location = None
    if location_id := request.GET.get("location"):
        locations = Location.objects.all() if allowed is None else Location.objects.filter(pk__in=allowed)
        location = locations.filter(pk=location_id).first() if location_id.isdigit() else None
        if location is None:
            raise Http404("No such location")
    if not form.is_valid():
        return None, form
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return loyalty.Filters(start, end, location, allowed, loyalty.WinBack.current()), form


def _query(filters: loyalty.Filters) -> str:
    query = {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    if filters.location:
        query["location"] = filters.location.pk
    return "&".join(f"{k}={v}" for k, v in query.items())


@require_perm("crm.view_loyalty_dashboard")
def dashboard(request):
    filters, form = filters_from(request)
    allowed = None if roles.is_owner(request.user) else request.user.locations.values_list("pk", flat=True)
    locations = Location.objects.all() if allowed is None else Location.objects.filter(pk__in=allowed)
    context = {
        "form": form,
        "filters": filters,
        "locations": locations,
        "chosen_location": request.GET.get("location", ""),
        "ranges": loyalty.standard_ranges(timezone.localdate()),
        "definitions": loyalty.DEFINITIONS,
        "may_set_rule": request.user.has_perm("insights.change_loyaltyrule"),
    }
    if filters is None:
        return render(request, "crm/dashboard.html", context)
    figures = loyalty.figures(filters)
    lists = figures["lists"]
    reader = loyalty.reader_details(
        request.user, {c["id"] for key in loyalty.ACTION_LISTS for c in lists[key]["customers"][: loyalty.LIST_SHOWN]}
    )
    context |= {
        "f": figures,
        "impact": loyalty.impact_figures(filters),
        "query": _query(filters),
        "as_of": datetime.datetime.fromisoformat(figures["computed_at"]),
        "as_of_day": datetime.date.fromisoformat(figures["filters"]["as_of"]),
        "action_lists": [
            {
                "key": key,
                "title": title,
                "definition": loyalty.DEFINITIONS[key],
                **lists[key],
                # what this reader may see of each customer, beside the shared figures
                "customers": [
                    {
                        **c,
                        "last_visit_day": datetime.date.fromisoformat(c["last_visit_day"]),
                        **reader.get(c["id"], {}),
                    }
                    for c in lists[key]["customers"][: loyalty.LIST_SHOWN]
                ],
            }
            for key, title in loyalty.LIST_TITLES.items()
        ],
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
    filters, form = filters_from(request)
    figure = request.GET.get("figure", "")
    if figure not in loyalty.FIGURES:
        raise Http404("No such figure")
    cohort, month = request.GET.get("cohort"), request.GET.get("month")
    for value in (cohort, month):
        if value is not None and not _is_month(value):
            raise Http404("Months look like 2026-01")
        if value is not None:
            day_from(value, None, what="month")  # a 400 for months like 9999-12 or 0001-01
    context = {"figure": figure, "filters": filters, "form": form, "query": request.GET.urlencode()}
    if filters is None:
        return render(request, "crm/dashboard_customers.html", context)
    customers = loyalty.customers_behind(figure, filters, cohort, month)
    page = Paginator(customers.select_related("home_location").order_by("first_name", "last_name", "pk"), 50).get_page(
        request.GET.get("page")
    )
    context |= {
        "page": page,
        # The win-back lists offer a "we miss you" message to each customer (outreach/).
        "write_back": "miss_you" if figure in loyalty.LIST_TITLES else "",
        "title": loyalty.LIST_TITLES.get(figure, figure),
        "definition": loyalty.DEFINITIONS.get(
            {
                "repeat": "repeat_rate",
                "referred": "word_of_mouth",
                "gesture": "microcx",
                "cohort": "cohorts",
                "offer": "offers",
            }.get(figure, figure),
            "",
        ),
    }
    return render(request, "crm/dashboard_customers.html", context)


@require_perm("insights.change_loyaltyrule")
def win_back_rule(request):
    """An owner reads and sets the win-back rule; the dashboard's next figures use it."""
    form = LoyaltyRuleForm(request.POST or None, instance=LoyaltyRule.current())
    if request.method == "POST" and form.is_valid():
        loyalty_rule_set(by=request.user, **{name: form.cleaned_data[name] for name in form.Meta.fields})
        messages.success(request, "Win-back rule saved. The dashboard's lists now follow it.")
        return redirect("loyalty-dashboard")
    sentence = loyalty.WinBack.current().sentence(timezone.localdate())  # the stored rule, not the bad input
    return render(request, "crm/win_back_rule.html", {"form": form, "sentence": sentence})


@require_perm("microcx.view_spend_report")
def monthly_review(request):
    """One month of micro-CX gestures, and whether their customers came back (an insight: it reads visits too)."""
    locations = list(locations_for(request.user))
    mine = [location for location in request.user.locations.all() if location.is_active] or [
        location for location in locations if location.is_active
    ]
    # Today at the user's locations (the latest of their calendars).
    today = max((location.local_today() for location in mine), default=timezone.localdate())
    month = day_from(request.GET.get("month", ""), today.replace(day=1), what="month").replace(day=1)
    review = loyalty.monthly_review(month, locations)
    previous = (month - datetime.timedelta(days=1)).replace(day=1)
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "microcx/review.html",
        {
            **review,
            "month": month,
            "previous": previous,
            "following": following if following <= today else None,
            "today": today,
            "window": loyalty.RETURN_DAYS,
        },
    )
