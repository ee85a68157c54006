import functools

from django import template
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe

from crm.inbox.reminders import GESTURE_IDEAS_BY_TEXT
from customers.gesture_ideas import gesture_form_url
from customers.page_cache import CSRF_PLACEHOLDER  # a kept bar, like a kept page part, gets the reader's token

register = template.Library()
NAV_ITEM_KEYS = ("url_name", "label", "icon", "badge", "count", "count_label")


@register.simple_tag(takes_context=True)
def navigation(context) -> str:
    """The navigation bar, rendered once per process for each set of what it shows, then reused.

    Everything the bar shows is in the key (the user's pages and counts, the page they are on, their name and
    role, the business's name, the unread count), so a kept bar is never stale; the rest of a page's CPU is
    spent elsewhere (the bar took about a sixth of a customer page's served from the cache).
    """
    request = context["request"]
    user = context.get("user")
    session = getattr(request, "session", {})
    shown = bool(
        user is not None
        and user.is_authenticated
        and not session.get("two_factor_setup_required")
        and (getattr(user, "is_verified", lambda: False)() or not session.get("two_factor_pending"))
    )
    if shown:
        items = tuple(tuple(_plain(item.get(key)) for key in NAV_ITEM_KEYS) for item in context["nav_items"])
        match = getattr(request, "resolver_match", None)
        bar = (
            items,
            match.url_name if match else None,
            user.is_superuser,
            user.first_name or user.get_username(),
            user.role_label,
            _plain(context.get("inbox_count")),
        )
    else:
        bar = None
    html = _navigation(str(context["business_name"]), bar, get_script_prefix())
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)) if shown else html)  # noqa: S308 - ours


def _plain(value):
    """A value as the key holds it: a lazily counted figure, counted."""
    return value if value is None or isinstance(value, (str, int, bool)) else int(value)


@functools.lru_cache(maxsize=2048)
def _navigation(business_name: str, bar: tuple | None, script_prefix: str) -> str:
    context = {"business_name": business_name, "shown": bar is not None}
    if bar is not None:
        items, active, is_superuser, user_name, role_label, inbox_count = bar
        nav_items = [dict(zip(NAV_ITEM_KEYS, item, strict=True)) for item in items]
        context.update(
            nav_items=nav_items,
            nav_has_counts=any(item["count"] for item in nav_items),
            active=active,
            is_superuser=is_superuser,
            user_name=user_name,
            role_label=role_label,
            inbox_count=inbox_count,
            csrf_token=CSRF_PLACEHOLDER,
        )
    return render_to_string("crm/_nav.html", context)


@register.filter
def gesture_idea_url(notification) -> str:
    """Return the gesture form's address for a reminder's idea, prefilled with it (category, amount, description)."""
    idea = GESTURE_IDEAS_BY_TEXT.get(notification.gesture_idea)
    follow_up_id = notification.follow_up_id
    if idea is not None:
        return idea.form_url(notification.customer_id, follow_up_id=follow_up_id)
    # Another idea ("A quick call or a short email..."): at least its words, as the description.
    return gesture_form_url(
        notification.customer_id, description=notification.gesture_idea.rstrip("?"), follow_up_id=follow_up_id
    )
