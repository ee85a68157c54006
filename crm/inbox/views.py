import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm.inbox import digests, health, notifications
from crm.inbox.access import get_notification_for_user
from crm.inbox.models import DigestSend, Heartbeat, Notification, SweepRun
from crm.kernel.access import STAFF_LOCATIONS_VERSION, own_active_locations, require_perm
from customers import page_cache, selectors
from customers.access import show_follow_ups
from microcx import selectors as microcx_selectors

HOME_LIST_SIZE = 15
HOME_RECENT_SIZE = 8
HOME_INBOX_SIZE = 6
HOME_APPROVALS_SIZE = 5
# Today and the inbox are keyed on the minute: an entry is not asked for again once its minute has passed.
MINUTE_KEYED_TTL = 90
# What Today shows of a reminder (and what hide_private needs to mask one).
HOME_INBOX_COLUMNS = (
    "title",
    "url",
    "gesture_idea",
    "customer_id",
    "follow_up_id",
    "customer__first_name",
    "customer__preferred_name",
)


def home(request):
    """The staff home page: what to do today, at the user's locations.

    Its content is rendered once per reader and minute, then served from the shared cache until any
    customer's data, anything shared (locations, staff names), anyone's reminders or anyone's locations change
    (customers.page_cache.cached_across). The minute in the key moves the shops' clocks and the
    "... ago" of each row; "just now" may read so for up to a minute longer than it is.
    """
    user = request.user
    moment = (timezone.now().replace(second=0, microsecond=0), user.role_label)
    also = (notifications.UNREAD_VERSION_KEY, STAFF_LOCATIONS_VERSION)
    content = page_cache.cached_across(
        request, "home", moment, lambda: _home_content(request), also=also, ttl=MINUTE_KEYED_TTL
    )
    return render(request, "crm/home.html", {"content": mark_safe(content)})  # noqa: S308 - our own rendering


def _home_content(request) -> str:
    user = request.user
    locations = own_active_locations(user)
    context = {
        "today": max((location.local_today() for location in locations), default=timezone.localdate()),
        "locations": locations,
        "due_follow_ups": show_follow_ups(user, selectors.follow_ups_due(user, locations)[:HOME_LIST_SIZE]),
        "next_visit_follow_ups": show_follow_ups(
            user, selectors.next_visit_follow_ups_for_seen_customers(user, locations)[:HOME_LIST_SIZE]
        ),
        "recent_customers": list(selectors.recent_customers(user, locations, limit=HOME_RECENT_SIZE)),
        "inbox_items": notifications.hide_private(list(_home_inbox(user))),
        "csrf_token": page_cache.CSRF_PLACEHOLDER,
        **_awaiting_approval(user, HOME_APPROVALS_SIZE),
    }
    return render_to_string("crm/_home_content.html", context, request=request)


def _home_inbox(user):
    """The first few reminders, with what Today shows of them and what hide_private reads (one query)."""
    reminders = notifications.inbox(user).select_related("follow_up__note")
    return reminders.only(*HOME_INBOX_COLUMNS, *notifications.PRIVACY_COLUMNS)[:HOME_INBOX_SIZE]


def _awaiting_approval(user, size: int) -> dict:
    """The gestures waiting for this manager's or owner's decision: how many, and the oldest few."""
    waiting = microcx_selectors.awaiting_approval(user)
    shown = list(waiting[:size])
    return {"approvals": shown, "approvals_count": len(shown) if len(shown) < size else waiting.count()}


@login_not_required
@never_cache
@require_GET
@transaction.non_atomic_requests  # opening a request transaction would fail before a down database is reported
def healthz(request):
    """Answer a load balancer: 200 while the database answers (status "degraded" if the broker
    is down or sweeps are late), 503 when it does not; JSON with each part's state."""
    body, status = health.report()
    return JsonResponse(body, status=status)


# --- inbox and operations ---------------------------------------------------

INBOX_PAGE_SIZE = 25


def inbox(request):
    """The staff member's notifications: today's reminders first, with links to the customer.

    Cached like Today (customers.page_cache.cached_across): per reader, list, page and minute, until anyone's
    reminders, any customer's data, anything shared or anyone's locations change.
    """
    show = "all" if request.GET.get("show") == "all" else "open"
    number = page_cache.page_number(request)
    today = timezone.localdate()
    also = (notifications.UNREAD_VERSION_KEY, STAFF_LOCATIONS_VERSION)
    # The minute, as on Today: the gestures awaiting approval say how long ago they were proposed.
    moment = (timezone.now().replace(second=0, microsecond=0), request.user.role_label)

    def render_content() -> str:
        page = Paginator(notifications.inbox(request.user, show), INBOX_PAGE_SIZE).get_page(number)
        page.object_list = notifications.hide_private(list(page.object_list))
        context = {
            "page": page,
            "show": show,
            "today": today,
            "csrf_token": page_cache.CSRF_PLACEHOLDER,
            **_awaiting_approval(request.user, HOME_APPROVALS_SIZE),
        }
        return render_to_string("crm/_inbox_content.html", context, request=request)

    content = page_cache.cached_across(
        request, f"inbox:{show}", moment, render_content, also=also, page=number, ttl=MINUTE_KEYED_TTL
    )
    return render(request, "crm/inbox.html", {"content": mark_safe(content)})  # noqa: S308 - our own rendering


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


@require_perm("inbox.view_sweeprun")
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
