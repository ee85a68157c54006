import datetime
import functools
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from crm.kernel import roles

# In the time zone database but no place's clock: a shop never picks them.
NOT_PLACES = {"Factory", "localtime", "posixrules"}


def timezone_choices() -> list[tuple[str, str]]:
    names = (
        name
        for name in zoneinfo.available_timezones()
        if name not in NOT_PLACES and not name.startswith(("posix/", "right/"))
    )
    return [(name, name.replace("_", " ")) for name in sorted(names)]


def default_timezone() -> str:
    """Return the business's default time zone for a new location (set by an owner on Business)."""
    from crm.kernel import business

    return business.current().timezone


@functools.cache
def _currencies_in_use() -> frozenset[str]:
    """The currencies some country pays in today (CLDR, through babel): not the withdrawn ones (ADP), the
    test code (XTS) or the metals (XAU)."""
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    today = timezone.localdate()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, today, tender=True, non_tender=False)
    )


def currency_choices() -> list[tuple[str, str]]:
    from babel.numbers import get_currency_name

    # The configured one always (BUSINESS_CURRENCY seeds the business's: it must stay choosable).
    codes = _currencies_in_use() | {settings.BUSINESS_CURRENCY}
    return [(code, f"{code} · {get_currency_name(code, locale='en')}") for code in sorted(codes)]


class Location(models.Model):
    """A shop, café or studio of the business, with its own local day."""

    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, choices=timezone_choices, default=default_timezone)
    digest_time = models.TimeField(
        default=datetime.time(8, 0), help_text="Local time the start-of-shift email digest goes out."
    )
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
    email_digest = models.BooleanField(
        "start-of-shift email", default=True, help_text="One email a day with the day's reminders."
    )
    email_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    email_failing_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # A user read from the shared cache (crm.kernel.permissions.StaffModelBackend) comes without their
    # password hash, and with the session hashes made from it when it was read; once the password is
    # loaded or set, the hashes are made from it again.
    def get_session_auth_hash(self) -> str:
        kept = self.__dict__.get("_kept_session_hashes")
        if kept is not None and "password" not in self.__dict__:
            return kept[0]
        return super().get_session_auth_hash()

    def get_session_auth_fallback_hash(self):
        kept = self.__dict__.get("_kept_session_hashes")
        if kept is not None and "password" not in self.__dict__:
            yield from kept[1]
            return
        yield from super().get_session_auth_fallback_hash()

    @property
    def role(self) -> str | None:
        """Return the highest role this user holds, or None for no role."""
        return roles.role_of(self)

    @property
    def role_label(self) -> str:
        return roles.LABELS.get(self.role, "No role")


class Snapshot(models.Model):
    """Figures computed at a moment and kept for a few minutes (loyalty ranges, journey maps); pages say when."""

    key = models.CharField(max_length=200, unique=True)
    figures = models.JSONField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} at {self.computed_at:%Y-%m-%d %H:%M}"


class SecurityPolicy(models.Model):
    """The business's own security and privacy choices (one row), set by an owner."""

    require_owner_two_factor = models.BooleanField(
        "owners must use two-factor",
        default=False,
        help_text="Owners are asked for a code from their authenticator app at every login.",
    )
    note_retention_years = models.PositiveSmallIntegerField(
        "remove personal notes after (years)",
        null=True,
        blank=True,
        help_text="Notes older than this are removed for good (checked every hour). Leave empty to keep them.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "security policy"
        permissions = [("manage_security", "Can set the security policy, unlock logins and read the audit trail")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(note_retention_years__isnull=True) | models.Q(note_retention_years__gte=1),
                name="note_retention_at_least_one_year",
            )
        ]

    def __str__(self) -> str:
        return "Security policy"

    @classmethod
    def current(cls) -> "SecurityPolicy":
        """Return the policy, creating the default one on first use (not an audited change)."""
        from auditlog.context import disable_auditlog

        policy = cls.objects.filter(pk=1).first()
        if policy is None:
            with disable_auditlog():
                policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class BusinessSettings(models.Model):
    """The business's name, currency and default time zone (one row), set by an owner.

    The first read creates it from BUSINESS_NAME, BUSINESS_CURRENCY and BUSINESS_TIMEZONE, which only seed it.
    Read it through crm.kernel.business.current(), which caches it.
    """

    name = models.CharField("business name", max_length=120, help_text="Shown in the navigation and in emails.")
    currency = models.CharField(
        max_length=3, choices=currency_choices, help_text="ISO 4217 currency of budgets, gestures and revenue."
    )
    timezone = models.CharField(
        "default time zone",
        max_length=64,
        choices=timezone_choices,
        help_text="Given to new locations; each location keeps its own.",
    )
    postal_address = models.TextField(
        blank=True,
        max_length=400,
        help_text="The business's postal address, printed in the footer of every email to customers.",
    )
    track_email = models.BooleanField(
        "count email opens and clicks",
        default=True,
        help_text="Adds a tracking image and tracked links to emails, for the email touchpoint's open and click "
        "rates. Off: emails go out exactly as written and nothing is counted.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "business settings"
        permissions = [("manage_business", "Can change the business's name, currency and default time zone")]
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="business_settings_single_row")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "BusinessSettings":
        """Return the row, creating it from the environment's values if missing (not an audited change).

        `migrate` creates it (0011), so a read is one query; a database emptied since then gets it back here.
        """
        row = cls.objects.filter(pk=1).first()
        if row is None:
            # One INSERT ... ON CONFLICT DO NOTHING: two first reads at once both end with the same row.
            cls.objects.bulk_create([cls(pk=1, **cls.seed())], ignore_conflicts=True)
            row = cls.objects.get(pk=1)
        return row

    @staticmethod
    def seed() -> dict[str, str]:
        """The environment's values, which only seed the row."""
        return {
            "name": settings.BUSINESS_NAME,
            "currency": settings.BUSINESS_CURRENCY,
            "timezone": settings.BUSINESS_TIMEZONE,
        }


class ImportJob(models.Model):
    """One uploaded file on its way in: checked, then (once the person confirms) imported.

    The file's bytes live here, not on a web machine's disk, so the preview may be shown by one web
    process and confirmed on another, and a Celery worker can read it. Big files are checked and
    imported by a task; the state only moves forward through conditional updates (crm.kernel.import_jobs),
    so a retried or duplicated task never imports twice. The bytes are dropped once the job ends.
    """

    class State(models.TextChoices):
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATES = (State.CHECKING, State.CHECKED, State.IMPORTING)
    ENDED_STATES = (State.DONE, State.FAILED, State.CANCELLED)

    token = models.UUIDField(unique=True, editable=False, help_text="What a confirmation form sends back.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    location = models.ForeignKey(
        Location,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_jobs",
        help_text="The location rows without one go to.",
    )
    kind = models.CharField(max_length=40)
    file_name = models.CharField(max_length=255, blank=True)
    raw = models.BinaryField(default=bytes, editable=False)
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.CHECKING)
    background = models.BooleanField(default=False, help_text="Checked and imported by a Celery task.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    preview = models.JSONField(default=list, blank=True, help_text="What the import would do, line by line of text.")
    bad_rows = models.JSONField(default=list, blank=True, help_text="[{line, messages}] of rows that cannot go in.")
    summary = models.JSONField(default=dict, blank=True, help_text="What the import did.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the import itself started.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="importjob_state_created")]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def may_confirm(self) -> bool:
        return self.state == self.State.CHECKED and not self.bad_rows
