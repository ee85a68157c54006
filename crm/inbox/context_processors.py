from django.utils.functional import SimpleLazyObject

from crm.inbox import notifications
from crm.kernel import business
from microcx import selectors as microcx_selectors


def site(request):
    """Put the business name and the user's navigation into every template.

    All of it is worked out only if the template shows it: an in-page (htmx) fragment pays nothing.
    """
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    nav = SimpleLazyObject(lambda: navigation(user) if signed_in else [])
    context = {
        "business_name": SimpleLazyObject(lambda: business.current().name),
        "nav_items": nav,
        # The phone menu's button shows a dot when a count inside it is waiting.
        "nav_has_counts": SimpleLazyObject(lambda: any(item.get("count") for item in nav)),
    }
    if signed_in:
        # Counted only if the page shows the navigation.
        context["inbox_count"] = SimpleLazyObject(lambda: notifications.unread_count(user))
    return context


def navigation(user) -> list[dict]:
    """The pages this user may open, asked of one set of permissions (has_perm would ask every backend each time)."""
    if user.is_active and user.is_superuser:

        def has_perm(perm):
            return True

    else:
        has_perm = user.get_all_permissions().__contains__
    nav = [
        {"url_name": "home", "label": "Today", "icon": "sun"},
        {"url_name": "inbox", "label": "Inbox", "icon": "bell", "badge": True},
    ]
    if has_perm("customers.view_customer"):
        nav.append({"url_name": "customer-list", "label": "Customers", "icon": "people"})
    if has_perm("journeys.view_persona"):
        nav.append({"url_name": "persona-list", "label": "Journeys", "icon": "signpost-split"})
    if has_perm("microcx.view_budget"):
        item = {"url_name": "microcx", "label": "Micro-CX", "icon": "gift"}
        if has_perm("microcx.approve_gesture"):
            # Counted only if the page shows the navigation.
            item["count"] = SimpleLazyObject(lambda: microcx_selectors.awaiting_approval(user).count())
            item["count_label"] = "gestures waiting for approval"
        nav.append(item)
    if has_perm("outreach.print_cards"):
        nav.append({"url_name": "outreach-cards", "label": "Cards", "icon": "envelope-paper"})
    if has_perm("outreach.redeem_offer"):
        # Staff at the till type the code the customer shows.
        nav.append({"url_name": "offer-search", "label": "Offers", "icon": "ticket-perforated"})
    if has_perm("crm.view_loyalty_dashboard"):
        nav.append({"url_name": "loyalty-dashboard", "label": "Loyalty", "icon": "graph-up"})
    if has_perm("crm.view_location"):
        nav.append({"url_name": "location-list", "label": "Locations", "icon": "shop"})
    if has_perm("crm.view_user"):
        nav.append({"url_name": "staff-list", "label": "Staff", "icon": "person-badge"})
    if has_perm("crm.manage_business"):
        nav.append({"url_name": "business-settings", "label": "Business", "icon": "building"})
    if has_perm("crm.manage_security"):
        nav.append({"url_name": "security", "label": "Security", "icon": "shield-lock"})
    if has_perm("inbox.view_sweeprun"):
        nav.append({"url_name": "operations", "label": "Operations", "icon": "activity"})
    return nav
