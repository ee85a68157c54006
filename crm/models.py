import datetime
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from crm import roles


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def default_timezone() -> str:
    return settings.BUSINESS_TIMEZONE


class Location(models.Model):
    """A shop, café or studio of the business, with its own local day."""

    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, choices=timezone_choices, default=default_timezone)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("view_all_locations", "Can see the customers of every location"),
            ("view_loyalty_dashboard", "Can view the loyalty dashboard"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_now(self) -> datetime.datetime:
        """Return the current time in this location's time zone."""
        return timezone.now().astimezone(self.tzinfo)

    def local_today(self) -> datetime.date:
        """Return today's date as the staff of this location see it."""
        return self.local_now().date()


class User(AbstractUser):
    """A member of staff: frontline, manager or owner, at one or more locations."""

    locations = models.ManyToManyField(Location, blank=True, related_name="staff")

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role(self) -> str | None:
        """Return the highest role this user holds, or None for no role."""
        return roles.role_of(self)

    @property
    def role_label(self) -> str:
        return roles.LABELS.get(self.role, "No role")


class Heartbeat(models.Model):
    """When a background process last proved it was alive (one row per process kind)."""

    name = models.CharField(max_length=60, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
