"""The business's name, currency and default time zone: the one accessor every page, email and task reads.

An owner sets them on Business (crm.kernel.models.BusinessSettings); the BUSINESS_* environment values only seed the
row the first time it is read. The values are kept in the shared cache, so formatting an amount costs no query;
saving through crm.kernel.services.business_settings_save drops the cached copy. With a per-process cache (the default
local-memory one) other processes see a change within CACHE_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from crm.kernel.cache import read_ahead

CACHE_KEY = "crm:business-settings:v3"
CACHE_SECONDS = 60


@read_ahead
def _read_ahead(user_pk) -> list[str]:
    """Every page names the business."""
    return [CACHE_KEY]


@dataclass(frozen=True)
class Business:
    name: str
    currency: str
    timezone: str
    postal_address: str = ""
    track_email: bool = True


def current() -> Business:
    """Return the business's name, currency and default time zone (cached; at most one query on a miss)."""
    found = cache.get(CACHE_KEY)
    if found is None:
        from crm.kernel.models import BusinessSettings

        row = BusinessSettings.current()
        found = Business(
            name=row.name,
            currency=row.currency,
            timezone=row.timezone,
            postal_address=row.postal_address,
            track_email=row.track_email,
        )
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def forget() -> None:
    """Drop the cached copy (after a change), so the next read loads the saved row."""
    cache.delete(CACHE_KEY)
