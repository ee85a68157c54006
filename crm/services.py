"""Writes for the site-wide pieces: locations and staff."""

from django.db import transaction

from crm.models import Location


@transaction.atomic
def location_save(*, location: Location) -> Location:
    """Validate and save a location (new or changed)."""
    location.full_clean()
    location.save()
    return location
