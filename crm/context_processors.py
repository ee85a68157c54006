from django.conf import settings


def site(request):
    """Put the business name and the user's navigation into every template."""
    user = getattr(request, "user", None)
    nav = []
    if user is not None and user.is_authenticated:
        nav.append({"url_name": "home", "label": "Today", "icon": "sun"})
        if user.has_perm("customers.view_customer"):
            nav.append({"url_name": "customer-list", "label": "Customers", "icon": "people"})
        if user.has_perm("crm.view_location"):
            nav.append({"url_name": "location-list", "label": "Locations", "icon": "shop"})
    return {"business_name": settings.BUSINESS_NAME, "nav_items": nav}
