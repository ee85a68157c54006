"""The usual touchpoints of a small business, always present; managers edit or retire them."""

# slug, name, channel, stage, icon
DEFAULT_TOUCHPOINTS = [
    ("search", "Search", "online", "before", "search"),
    ("social-media", "Social media", "online", "before", "instagram"),
    ("email", "Email", "online", "after", "envelope"),
    ("blog", "Blog", "online", "before", "journal-text"),
    ("website", "Website", "online", "before", "globe"),
    ("contact-form", "Contact form", "online", "before", "ui-checks"),
    ("online-booking", "Online booking", "online", "during", "calendar-check"),
    ("in-store", "In store", "offline", "during", "shop"),
    ("phone", "Phone", "offline", "during", "telephone"),
    ("direct-mail", "Direct mail", "offline", "before", "mailbox"),
    ("outdoor-advertising", "Outdoor advertising", "offline", "before", "signpost"),
    ("word-of-mouth", "Word of mouth", "offline", "before", "people"),
    ("events", "Events", "offline", "before", "balloon"),
    ("support", "Support and complaints", "offline", "after", "life-preserver"),
]


def ensure_catalogue(**kwargs) -> None:
    """Create any default touchpoint that is missing (never changes one a manager edited)."""
    from journeys.models import Touchpoint

    for position, (slug, name, channel, stage, icon) in enumerate(DEFAULT_TOUCHPOINTS):
        Touchpoint.objects.get_or_create(
            slug=slug, defaults={"name": name, "channel": channel, "stage": stage, "icon": icon, "position": position}
        )
