from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crm.access import require_perm
from crm.forms import LocationForm
from crm.models import Location
from crm.services import location_save
from customers import selectors

HOME_LIST_SIZE = 15


def home(request):
    """The staff home page: what to do today, at the user's locations."""
    user = request.user
    locations = list(user.locations.filter(is_active=True))
    context = {
        "today": max((location.local_today() for location in locations), default=timezone.localdate()),
        "locations": locations,
        "due_follow_ups": list(selectors.follow_ups_due(user, locations)[:HOME_LIST_SIZE]),
        "next_visit_follow_ups": list(
            selectors.next_visit_follow_ups_for_seen_customers(user, locations)[:HOME_LIST_SIZE]
        ),
        "recent_customers": list(selectors.recent_customers(user, locations, limit=HOME_LIST_SIZE)),
    }
    return render(request, "crm/home.html", context)


@require_perm("crm.view_location")
def location_list(request):
    locations = Location.objects.all()
    return render(request, "crm/location_list.html", {"locations": locations})


@require_perm("crm.add_location")
def location_create(request):
    return _location_form(request, Location())


@require_perm("crm.change_location")
def location_edit(request, pk: int):
    return _location_form(request, get_object_or_404(Location, pk=pk))


def _location_form(request, location: Location):
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST" and form.is_valid():
        location = location_save(location=form.save(commit=False))
        messages.success(request, f"Saved {location.name}.")
        return redirect("location-list")
    return render(request, "crm/location_form.html", {"form": form, "location": location})


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Answer a load balancer: 200 when the database answers, 503 when not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "database unavailable"}, status=503)
