import datetime
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from crm import roles


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def default_timezone() -> str:
    """Return the business's default time zone for a new location (set by an owner on Business)."""
    from crm import business

    return business.current().timezone


def currency_choices() -> list[tuple[str, str]]:
    from babel.numbers import get_currency_name, list_currencies

    return [(code, f"{code} · {get_currency_name(code, locale='en')}") for code in sorted(list_currencies())]


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


# Which reference each kind of notification carries (the database checks it).
_FOLLOW_UP_KINDS = ("follow_up_due", "follow_up_overdue", "follow_up_untaken", "follow_up_escalated")
_GESTURE_KINDS = ("gesture_approved", "gesture_rejected")


class Notification(models.Model):
    """Something a member of staff should do or know today, in their inbox.

    What raised it is a real reference (the follow-up, important date, gesture or customer) and
    its kind; (kind, references, occurrence, recipient) is unique, so a retried task, a sweep run
    twice or two beat processes never raise the same reminder twice. Only `crm.notifications`
    writes them.
    """

    class Kind(models.TextChoices):
        FOLLOW_UP_DUE = "follow_up_due", "Follow-up due"
        FOLLOW_UP_OVERDUE = "follow_up_overdue", "Follow-up overdue"
        FOLLOW_UP_UNTAKEN = "follow_up_untaken", "Follow-up nobody took"
        FOLLOW_UP_ESCALATED = "follow_up_escalated", "Follow-up escalated"
        IMPORTANT_DATE = "important_date", "Important date"
        CUSTOMER_SINCE = "customer_since", "Customer anniversary"
        KEEP_IN_TOUCH = "keep_in_touch", "Keep in touch"
        GESTURE_APPROVED = "gesture_approved", "Gesture approved"
        GESTURE_REJECTED = "gesture_rejected", "Gesture not approved"
        MESSAGE = "message", "Message"

    FOLLOW_UP_KINDS = _FOLLOW_UP_KINDS
    GESTURE_KINDS = _GESTURE_KINDS

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    occurrence = models.DateField(help_text="The day (or the date's occurrence) it was raised for.")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    follow_up = models.ForeignKey(
        "customers.FollowUp", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    important_date = models.ForeignKey(
        "customers.ImportantDate", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    gesture = models.ForeignKey(
        "microcx.Gesture", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    gesture_idea = models.CharField(max_length=200, blank=True, help_text="A suggestion, never sent by itself.")
    url = models.CharField(max_length=200, blank=True)
    takeable = models.BooleanField(default=False, help_text="A whole-location follow-up someone can take on.")
    overdue_on = models.DateField(null=True, blank=True, help_text="From this day it shows red (overdue).")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    emailed_on = models.DateField(null=True, blank=True, help_text="The digest day it went out in.")

    class Meta:
        ordering = ["-occurrence", "-created_at"]
        constraints = [
            # NULLs count as equal here: two keep-in-touch reminders of one customer on one day collide.
            models.UniqueConstraint(
                fields=["kind", "customer", "follow_up", "important_date", "gesture", "occurrence", "recipient"],
                name="notification_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    (~models.Q(kind__in=_FOLLOW_UP_KINDS) | models.Q(follow_up__isnull=False))
                    & (~models.Q(kind="important_date") | models.Q(important_date__isnull=False))
                    & (~models.Q(kind__in=_GESTURE_KINDS) | models.Q(gesture__isnull=False))
                    & (~models.Q(kind__in=["customer_since", "keep_in_touch"]) | models.Q(customer__isnull=False))
                ),
                name="notification_names_its_cause",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "done_at", "-created_at"], name="notification_inbox"),
            models.Index(fields=["created_at"], name="notification_created"),
        ]

    def __str__(self) -> str:
        return self.title

    def level(self, today: datetime.date) -> str:
        """ "overdue" (red) from its overdue day, "due" (amber) for things to act on, else "info"."""
        if self.overdue_on and today >= self.overdue_on:
            return "overdue"
        if self.kind in (self.Kind.IMPORTANT_DATE, self.Kind.CUSTOMER_SINCE, self.Kind.MESSAGE, *self.GESTURE_KINDS):
            return "info"
        return "due"


class SweepRun(models.Model):
    """One run of a periodic sweep: when, how long, what it raised."""

    name = models.CharField(max_length=40)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    raised = models.JSONField(default=dict, help_text="How many notifications of each kind.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="sweep_run_recent")]

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> list[tuple[str, int, int]]:
        """(kind, due, raised) for each kind of reminder the sweep found."""
        kinds = dict.fromkeys(key.rsplit(" ", 1)[0] for key in self.raised)
        return [
            (kind.replace("_", " "), self.raised.get(f"{kind} due", 0), self.raised.get(f"{kind} raised", 0))
            for kind in kinds
        ]

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class DigestSend(models.Model):
    """The start-of-shift email of one member of staff for one local day: sent at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "day"], name="digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest for {self.recipient} on {self.day}"


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
    Read it through crm.business.current(), which caches it.
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


class LoyaltyRule(models.Model):
    """The business's rule for its win-back list (one row), set by an owner on the loyalty dashboard."""

    regular_visit_days = models.PositiveSmallIntegerField(
        "at least this many visit days",
        default=3,
        validators=[MinValueValidator(2), MaxValueValidator(100)],
        help_text="Days they came in (several purchases on one day count once).",
    )
    regular_months = models.PositiveSmallIntegerField(
        "within the last (months)",
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(36)],
    )
    quiet_weeks = models.PositiveSmallIntegerField(
        "and none in the last (weeks)",
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(104)],
        help_text="Also how long a new customer has to come back before they count as never came back.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "win-back rule"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(regular_visit_days__gte=2, regular_months__gte=1, quiet_weeks__gte=1),
                name="loyalty_rule_positive",
            )
        ]

    def __str__(self) -> str:
        return "Win-back rule"

    def clean(self):
        if None not in (self.quiet_weeks, self.regular_months) and self.quiet_weeks * 7 >= self.regular_months * 28:
            raise ValidationError(
                {"quiet_weeks": "The quiet weeks must be shorter than the months, or nobody can qualify."}
            )

    @classmethod
    def current(cls) -> "LoyaltyRule":
        """Return the rule, creating the default one on first use (not an audited change)."""
        from auditlog.context import disable_auditlog

        rule = cls.objects.filter(pk=1).first()
        if rule is None:
            with disable_auditlog():
                rule, _ = cls.objects.get_or_create(pk=1)
        return rule
