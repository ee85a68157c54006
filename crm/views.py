import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm import digests, health, notifications
from crm.access import get_location_for_user, get_notification_for_user, require_perm
from crm.forms import LocationForm, ProfileForm, StaffForm
from crm.models import DigestSend, Heartbeat, Location, Notification, SweepRun, User
from crm.services import location_save, profile_save, staff_save
from customers import selectors
from customers.access import show_follow_ups
from microcx import selectors as microcx_selectors

HOME_LIST_SIZE = 15
HOME_RECENT_SIZE = 8
HOME_INBOX_SIZE = 6
HOME_APPROVALS_SIZE = 5
STAFF_PAGE_SIZE = 50


def home(request):
    """The staff home page: what to do today, at the user's locations."""
    user = request.user
    locations = list(user.locations.filter(is_active=True))
    context = {
        "today": max((location.local_today() for location in locations), default=timezone.localdate()),
        "locations": locations,
        "due_follow_ups": show_follow_ups(user, selectors.follow_ups_due(user, locations)[:HOME_LIST_SIZE]),
        "next_visit_follow_ups": show_follow_ups(
            user, selectors.next_visit_follow_ups_for_seen_customers(user, locations)[:HOME_LIST_SIZE]
        ),
        "recent_customers": list(selectors.recent_customers(user, locations, limit=HOME_RECENT_SIZE)),
        "inbox_items": notifications.hide_private(list(notifications.inbox(user)[:HOME_INBOX_SIZE])),
        **_awaiting_approval(user, HOME_APPROVALS_SIZE),
    }
    return render(request, "crm/home.html", context)


def _awaiting_approval(user, size: int) -> dict:
    """The gestures waiting for this manager's or owner's decision: how many, and the oldest few."""
    waiting = microcx_selectors.awaiting_approval(user)
    shown = list(waiting[:size])
    return {"approvals": shown, "approvals_count": len(shown) if len(shown) < size else waiting.count()}


@require_perm("crm.view_user")
def staff_list(request):
    """Everyone who works here, with their role and locations; owners add and change them."""
    staff = User.objects.prefetch_related("groups", "locations").order_by("-is_active", "first_name", "username")
    page = Paginator(staff, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crm/staff_list.html", {"page": page})


@require_perm("crm.add_user")
def staff_create(request):
    return _staff_form(request, User())


@require_perm("crm.change_user")
def staff_edit(request, pk: int):
    return _staff_form(request, get_object_or_404(User, pk=pk))


def _staff_form(request, member: User):
    form = StaffForm(request.POST or None, instance=member, editor=request.user)
    if request.method == "POST" and form.is_valid():
        member = staff_save(
            user=form.save(commit=False),
            role=form.cleaned_data["role"],
            locations=list(form.cleaned_data["locations"]),
            password=form.cleaned_data.get("password"),
        )
        messages.success(request, f"Saved {member}.")
        return redirect("staff-list")
    return render(request, "crm/staff_form.html", {"form": form, "member": member})


@require_perm("crm.view_location")
def location_list(request):
    locations = Location.objects.all()
    return render(request, "crm/location_list.html", {"locations": locations})


@require_perm("crm.add_location")
def location_create(request):
    return _location_form(request, Location())


@require_perm("crm.change_location")
def location_edit(request, pk: int):
    return _location_form(request, get_location_for_user(request.user, pk))


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
@transaction.non_atomic_requests  # opening a request transaction would fail before a down database is reported
def healthz(request):
    """Answer a load balancer: 200 while the database answers (status "degraded" if the broker
    is down or sweeps are late), 503 when it does not; JSON with each part's state."""
    body, status = health.report()
    return JsonResponse(body, status=status)


# --- inbox, profile and operations ---------------------------------------------------

INBOX_PAGE_SIZE = 25


def inbox(request):
    """The staff member's notifications: today's reminders first, with links to the customer."""
    show = "all" if request.GET.get("show") == "all" else "open"
    page = Paginator(notifications.inbox(request.user, show), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = notifications.hide_private(list(page.object_list))
    today = timezone.localdate()
    context = {"page": page, "show": show, "today": today, **_awaiting_approval(request.user, HOME_APPROVALS_SIZE)}
    return render(request, "crm/inbox.html", context)


@require_POST
def notification_mark(request, pk: int):
    notification = get_notification_for_user(request.user, pk)
    action = request.POST.get("action")
    if action not in ("read", "unread", "done", "undone"):
        return HttpResponseBadRequest("Unknown action")
    notifications.notification_mark(
        notification=notification,
        read={"read": True, "unread": False}.get(action),
        done={"done": True, "undone": False}.get(action),
    )
    if request.htmx:
        notifications.hide_private([notification])
        response = render(request, "crm/_notification.html", {"item": notification, "today": timezone.localdate()})
        response["HX-Trigger"] = "inbox-changed"
        return response
    return redirect("inbox")


def inbox_badge(request):
    """The unread count in the navigation, refreshed in place."""
    return render(request, "crm/_inbox_badge.html", {"inbox_count": notifications.unread_count(request.user)})


def profile(request):
    """A member of staff's own settings: the start-of-shift email."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        profile_save(user=form.save(commit=False))
        messages.success(request, "Saved.")
        return redirect("profile")
    from django_otp import user_has_device

    from crm.security import may_use_two_factor

    context = {
        "form": form,
        "may_use_two_factor": may_use_two_factor(request.user),
        "has_two_factor": user_has_device(request.user, confirmed=True),
    }
    return render(request, "crm/profile.html", context)


@require_perm("crm.view_sweeprun")
def operations(request):
    """For managers: when each sweep last ran and what it raised, the workers, failing email addresses."""
    runs = list(SweepRun.objects.all()[:20])
    since = timezone.now() - datetime.timedelta(days=1)
    raised_today = (
        Notification.objects.filter(created_at__gte=since).values("kind").annotate(n=Count("pk")).order_by("kind")
    )
    context = {
        "runs": runs,
        "last_run": runs[0] if runs else None,
        "raised_today": [{"kind": Notification.Kind(row["kind"]).label, "count": row["n"]} for row in raised_today],
        "heartbeat": Heartbeat.objects.filter(name="worker").first(),
        "failing": digests.failing_addresses(),
        "recent_digests": DigestSend.objects.select_related("recipient").order_by("-updated_at")[:10],
        "sweep_every": settings.REMINDER_SWEEP_SECONDS,
    }
    return render(request, "crm/operations.html", context)
