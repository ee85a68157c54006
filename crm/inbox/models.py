"""The inbox's rows: notifications, the sweep runs that raise them, the digests that email them, heartbeats.

They lived in the crm app until the floors were separated; their tables kept their crm_ names.
"""

import datetime

from django.conf import settings
from django.db import models


class Heartbeat(models.Model):
    """When a background process last proved it was alive (one row per process kind)."""

    name = models.CharField(max_length=60, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        db_table = "crm_heartbeat"  # the table kept its name when the model moved here from crm

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


# Which reference each kind of notification carries (the database checks it).
_FOLLOW_UP_KINDS = ("follow_up_due", "follow_up_overdue", "follow_up_untaken", "follow_up_escalated")
_GESTURE_KINDS = ("gesture_approved", "gesture_rejected")


class Notification(models.Model):
    """Something a member of staff should do or know today, in their inbox.

    What raised it is a real reference (the follow-up, important date, gesture or customer) and
    its kind; (kind, references, occurrence, recipient) is unique, so a retried task, a sweep run
    twice or two beat processes never raise the same reminder twice. Only `crm.inbox.notifications`
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
        IMPORT_CHECKED = "import_checked", "Import checked"
        IMPORT_FINISHED = "import_finished", "Import finished"

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
    import_job = models.ForeignKey(
        "crm.ImportJob", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
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
        db_table = "crm_notification"
        ordering = ["-occurrence", "-created_at"]
        constraints = [
            # NULLs count as equal here: two keep-in-touch reminders of one customer on one day collide.
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "customer",
                    "follow_up",
                    "important_date",
                    "gesture",
                    "import_job",
                    "occurrence",
                    "recipient",
                ],
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
        if self.kind in (
            self.Kind.IMPORTANT_DATE,
            self.Kind.CUSTOMER_SINCE,
            self.Kind.MESSAGE,
            self.Kind.IMPORT_FINISHED,
            *self.GESTURE_KINDS,
        ):
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
        db_table = "crm_sweeprun"
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
        db_table = "crm_digestsend"
        constraints = [models.UniqueConstraint(fields=["recipient", "day"], name="digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest for {self.recipient} on {self.day}"
