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


# (permission, url name, label, icon) of each page in the navigation after Today and the inbox, in order.
PAGES = [
    ("customers.view_customer", "customer-list", "Customers", "people"),
    ("journeys.view_persona", "persona-list", "Journeys", "signpost-split"),
    ("microcx.view_budget", "microcx", "Micro-CX", "gift"),
    ("outreach.print_cards", "outreach-cards", "Cards", "envelope-paper"),
    # Staff at the till type the code the customer shows.
    ("outreach.redeem_offer", "offer-search", "Offers", "ticket-perforated"),
    ("crm.view_loyalty_dashboard", "loyalty-dashboard", "Loyalty", "graph-up"),
    ("crm.view_location", "location-list", "Locations", "shop"),
    ("crm.view_user", "staff-list", "Staff", "person-badge"),
    ("crm.manage_business", "business-settings", "Business", "building"),
    ("crm.manage_security", "security", "Security", "shield-lock"),
    ("inbox.view_sweeprun", "operations", "Operations", "activity"),
]


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
    for perm, url_name, label, icon in PAGES:
        if has_perm(perm):
            nav.append({"url_name": url_name, "label": label, "icon": icon})
            if url_name == "microcx" and has_perm("microcx.approve_gesture"):
                # Counted only if the page shows the navigation.
                nav[-1]["count"] = SimpleLazyObject(lambda: microcx_selectors.awaiting_approval(user).count())
                nav[-1]["count_label"] = "gestures waiting for approval"
    return nav
