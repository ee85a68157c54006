import calendar
import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Reverse
from simple_history.models import HistoricalRecords

from crm.kernel import confidences
from crm.kernel.fields import EncryptedJSONField, EncryptedTextField
from crm.kernel.models import Location
from crm.kernel.text import fold
from customers import schedule


class Tag(models.Model):
    """A label staff put on customers ("regular", "VIP", "contact lenses")."""

    name = models.CharField(max_length=40, unique=True)
    keep_in_touch_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Remind staff when a customer with this tag has not been in touch for this long.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True, erased_at__isnull=True)

    def with_email(self, email: str):
        """Match an email whatever its case, through the index on lower(email)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


class Customer(models.Model):
    """A person the business knows, with what matters to them."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80, blank=True)
    preferred_name = models.CharField(max_length=80, blank=True, help_text="What they like to be called.")
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in international form, e.g. +12075550123.")
    external_id = models.CharField(max_length=64, blank=True, help_text="Id in the till or another system.")
    # The token of the "New customer" form that created them: the same form sent twice makes one customer.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    home_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="home_customers")
    # Every location that knows this customer: the home location and those they visited.
    locations = models.ManyToManyField(Location, related_name="customers", blank=True)
    tags = models.ManyToManyField(Tag, related_name="customers", blank=True)
    customer_since = models.DateField(null=True, blank=True)
    referred_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals")
    preferences = models.TextField(
        blank=True, help_text="Free form: favourite local craft beer bar: Monday Night; prefers text to calls."
    )
    consent_email_at = models.DateField("email consent given on", null=True, blank=True)
    consent_mail_at = models.DateField("mail consent given on", null=True, blank=True)
    consent_phone_at = models.DateField("phone consent given on", null=True, blank=True)

    # Kept current by customer_contact_record so the brief needs no aggregate query.
    first_visit_at = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    last_visit_location = models.ForeignKey(
        # Indexed by customer_seen_at (location, then newest visit first), which also serves the key alone.
        Location,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    visit_count = models.PositiveIntegerField(default=0)
    # Any interaction (visit, call, email) resets the keep-in-touch clock.
    last_contact_at = models.DateTimeField(null=True, blank=True)
    keep_in_touch_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Overrides the tags' cadence: remind staff after this many days without contact.",
    )
    # Next-due days read by the reminder sweeps through their indexes.
    keep_in_touch_due_on = models.DateField(null=True, blank=True, editable=False)
    next_anniversary_on = models.DateField(null=True, blank=True, editable=False)

    # Lower-cased names, email, phone digits and tags, searched with a trigram index.
    search_document = models.TextField(blank=True, editable=False)
    # The short fields search reads (customers.selectors.search_customers), kept by PostgreSQL itself on
    # every write, bulk ones and raw SQL included. search_name: "first last preferred", lower case and
    # unaccented (crm_fold, migration 0015), under a trigram index: the typo path compares a short name,
    # not a long document, so a misspelt name leaves few candidates at any table size.
    search_name = models.GeneratedField(
        expression=models.Func(
            models.F("first_name"),
            models.F("last_name"),
            models.F("preferred_name"),
            function="crm_search_name",
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    # The phone's digits, national (a US number without its leading 1): exact and "ends with" through
    # an index on its reverse.
    phone_digits = models.GeneratedField(
        expression=models.Func(models.F("phone"), function="crm_phone_digits", output_field=models.TextField()),
        output_field=models.TextField(),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["first_name", "last_name"]
        permissions = [
            ("erase_customer", "Can erase a customer's personal data"),
            ("archive_customer", "Can archive and restore customers"),
            ("import_customers", "Can import customers from CSV"),
            ("export_customers", "Can export consenting customers for marketing"),
        ]
        indexes = [
            GinIndex(fields=["search_name"], opclasses=["gin_trgm_ops"], name="customer_search_name_trgm"),
            models.Index(
                OpClass(Reverse("phone_digits"), name="text_pattern_ops"), name="customer_phone_digits_reversed"
            ),
            models.Index(Lower("email"), name="customer_email_lower"),
            models.Index(fields=["phone"], name="customer_phone"),
            models.Index(fields=["external_id"], name="customer_external_id"),
            models.Index(fields=["-last_visit_at"], name="customer_last_visit"),
            # Today's "in today" and "recently seen" at one shop: its newest visits, read in order.
            models.Index(fields=["last_visit_location", "-last_visit_at"], name="customer_seen_at"),
            models.Index(fields=["keep_in_touch_due_on"], name="customer_keep_in_touch_due"),
            models.Index(fields=["next_anniversary_on"], name="customer_anniversary_due"),
            # The customer list in name order, a page at a time, without sorting every customer a shop sees.
            # Not partial (WHERE erased_at IS NULL): the planner would read such an index to apply that filter alone.
            models.Index(fields=["first_name", "last_name", "id"], name="customer_by_name"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def greeting_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def consented_channels(self) -> list[str]:
        """The channels the customer agreed to be contacted on: email, mail, phone."""
        given = {"email": self.consent_email_at, "mail": self.consent_mail_at, "phone": self.consent_phone_at}
        return [channel for channel, on in given.items() if on]

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def usual_gap_days(self) -> int | None:
        """Return the average days between visits, or None before a second visit."""
        if self.visit_count < 2 or not self.first_visit_at or not self.last_visit_at:
            return None
        span = (self.last_visit_at - self.first_visit_at).days
        if span < 1:
            return None  # all visits on one day say nothing about a rhythm yet
        return max(1, round(span / (self.visit_count - 1)))

    def build_search_document(self, tag_names: list[str] | None = None) -> str:
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        national = digits[1:] if digits.startswith("1") and len(digits) == 11 else digits
        parts = [self.first_name, self.last_name, self.preferred_name, self.email, digits, national]
        parts += tag_names or []
        # Folded (lower case, no accents), as search folds what staff type: Zoe finds Zoë, Muller finds Müller.
        return " ".join(fold(p) for p in parts if p)


class Person(models.Model):
    """Someone in the customer's life: partner, child, pet..."""

    class Relation(models.TextChoices):
        PARTNER = "partner", "Partner"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        PARENT = "parent", "Parent"
        SIBLING = "sibling", "Sibling"
        FRIEND = "friend", "Friend"
        PET = "pet", "Pet"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(max_length=80)
    relation = models.CharField(max_length=20, choices=Relation.choices)
    species = models.CharField(max_length=40, blank=True, help_text="For pets: dog, cat, horse...")
    birthday = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["relation", "name"]
        verbose_name_plural = "people and pets"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.species and self.relation != self.Relation.PET:
            raise ValidationError({"species": "Only pets have a species."})

    @property
    def label(self) -> str:
        if self.relation == self.Relation.PET:
            return f"{self.name} ({self.species or 'pet'})"
        return f"{self.name} ({self.get_relation_display().lower()})"


class ImportantDate(models.Model):
    """A date worth remembering every year; the year is optional."""

    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", "Birthday"
        WEDDING = "wedding", "Wedding anniversary"
        ENGAGEMENT = "engagement", "Engagement"
        CUSTOMER_SINCE = "customer_since", "Customer since"
        CUSTOM = "custom", "Other date"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="important_dates")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=80, blank=True, help_text="For other dates: what it is.")
    month = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    year = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Leave empty when unknown.")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="dates")
    lead_days = models.PositiveSmallIntegerField(default=3, help_text="How many days ahead to prompt staff.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The next occurrence to raise, and the day to raise it (occurrence minus lead days).
    next_occurrence_on = models.DateField(null=True, blank=True, editable=False)
    next_prompt_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["month", "day"]
        indexes = [
            models.Index(fields=["month", "day"], name="important_date_month_day"),
            models.Index(fields=["next_prompt_on"], name="important_date_prompt_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(month__gte=1, month__lte=12), name="important_date_month"),
            models.CheckConstraint(condition=models.Q(day__gte=1, day__lte=31), name="important_date_day"),
            models.CheckConstraint(condition=models.Q(lead_days__lte=60), name="important_date_lead_days"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.day} {calendar.month_abbr[self.month]}"

    @property
    def title(self) -> str:
        who = self.person.name + "'s " if self.person_id else ""
        if self.kind == self.Kind.CUSTOM:
            return f"{who}{self.label or 'Date'}"
        return f"{who}{self.get_kind_display().lower()}" if who else self.get_kind_display()

    @property
    def when(self) -> str:
        """Say the date as people do: "14 June", "14 June 1986"."""
        year = f" {self.year}" if self.year else ""
        return f"{self.day} {calendar.month_name[self.month]}{year}"

    def clean(self):
        errors = {}
        if not self.month or not 1 <= self.month <= 12:
            errors["month"] = "Choose a month from 1 to 12."
        else:
            # 29 February is a real date (in leap years), so allow it whatever the year.
            leap_year = 2000
            last_day = calendar.monthrange(self.year or leap_year, self.month)[1]
            if self.day and not 1 <= self.day <= last_day:
                errors["day"] = f"{calendar.month_name[self.month]} has {last_day} days."
        if self.year is not None:
            this_year = datetime.date.today().year  # noqa: DTZ011 - a plausibility bound, not "today"
            if not 1900 <= self.year <= this_year + 5:
                errors["year"] = f"Give a year between 1900 and {this_year + 5}, or leave it empty."
        if self.kind == self.Kind.CUSTOM and not self.label:
            errors["label"] = "Say what this date is."
        if self.person_id and self.person.customer_id != self.customer_id:
            errors["person"] = "Choose someone from this customer's people and pets."
        if errors:
            raise ValidationError(errors)

    def occurrence_in(self, year: int) -> datetime.date:
        """Return the date this falls on in `year`; 29 February falls on 28 February in other years."""
        return schedule.occurrence_in(self.month, self.day, year)

    def next_occurrence(self, on_or_after: datetime.date) -> datetime.date:
        """Return the first occurrence on or after the given day."""
        return schedule.next_occurrence(self.month, self.day, on_or_after)

    def schedule_from(self, today: datetime.date) -> None:
        """Set the next occurrence to raise and the day to raise it, as seen on `today`."""
        self.next_occurrence_on, self.next_prompt_on = schedule.date_prompt(self.month, self.day, self.lead_days, today)

    def years_at(self, occurrence: datetime.date) -> int | None:
        """Return the age or anniversary number on that occurrence, when the year is known."""
        return occurrence.year - self.year if self.year else None


class NoteQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The notes this user may read: every ordinary note, and the sensitive ones the
        confidentiality rule lets them read (crm/kernel/confidences.py). With user None (emails,
        snapshots, exports), ordinary notes only."""
        return self.filter(confidences.readable(user))


class Note(models.Model):
    """Something a customer told staff, written down so it is not lost."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notes")
    # Where it was written. A sensitive note is read by the staff of this location (and its
    # author) only, whichever other locations the customer visits later (crm/kernel/confidences.py).
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="notes_written")
    # Encrypted at rest for every note, not only sensitive ones: flipping is_sensitive then never
    # leaves plain text behind (in this table or in its history, which copies this field), and no
    # note is searched in SQL (search_document never holds note text).
    text = EncryptedTextField(max_length=4000)
    is_sensitive = models.BooleanField(
        "sensitive",
        default=False,
        help_text="Health, family trouble: only staff of the location it is written at see it.",
    )
    relevant_until = models.DateField(
        null=True, blank=True, help_text="After this day the note leaves the brief and stays in the timeline."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = NoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="note_customer_recent")]

    def __str__(self) -> str:
        # Never the text: a note's name shows up in logs, the admin and the audit trail.
        return f"Note #{self.pk}"


class FollowUp(models.Model):
    """A prompt for staff: "Ask how Rex is feeling", due on a date or at the next visit."""

    class Due(models.TextChoices):
        NEXT_VISIT = "next_visit", "At the next visit"
        ON_DATE = "on_date", "On a date"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        DISMISSED = "dismissed", "Dismissed"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups")
    # Encrypted like a note: a follow-up written from a note often says what the note said
    # ("ask how the chemo went"). Never filtered or ordered by in SQL.
    prompt = EncryptedTextField(max_length=200)
    due = models.CharField(max_length=12, choices=Due.choices, default=Due.NEXT_VISIT)
    due_date = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="Leave empty for the whole location.",
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="follow_ups")
    note = models.ForeignKey(Note, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome_note = models.ForeignKey(Note, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Reminders: raised on the due day and each day it stays overdue, three at most, then escalated.
    next_reminder_on = models.DateField(null=True, blank=True, editable=False)
    reminders_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_date", "created_at"]
        indexes = [
            models.Index(fields=["next_reminder_on"], name="follow_up_reminder_due"),
            models.Index(fields=["status", "due", "due_date"], name="follow_up_due"),
            models.Index(fields=["customer", "status"], name="follow_up_customer_open"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due="next_visit", due_date__isnull=True)
                | models.Q(due="on_date", due_date__isnull=False),
                name="follow_up_due_date_matches_due",
            ),
        ]

    def __str__(self) -> str:
        # Never the prompt: a follow-up's name shows up in logs, the admin and the audit trail.
        return f"Follow-up #{self.pk}"

    def clean(self):
        if self.due == self.Due.ON_DATE and not self.due_date:
            raise ValidationError({"due_date": "Give the day it is due, or choose 'At the next visit'."})
        if self.due == self.Due.NEXT_VISIT:
            self.due_date = None


class Suggestion(models.Model):
    """Something the note reader proposes; created only when a staff member accepts it."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "Follow-up"
        DATE = "date", "Important date"
        PERSON = "person", "Person or pet"
        GESTURE = "gesture", "Gesture idea"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        IGNORED = "ignored", "Ignored"

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="suggestions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    rule = models.CharField(max_length=40)
    # Both repeat what the note said, so both are encrypted like it (never filtered in SQL).
    summary = EncryptedTextField(max_length=200)
    payload = EncryptedJSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Suggestion #{self.pk}"


class RuleExposure(models.Model):
    """A customer a rule picked on a day (a birthday prompt, the win-back list), and whether they were held out.

    Held-out customers got nothing from the rule; comparing who came back on each side measures the
    rule's real effect (crm/insights/impact.py). One row per rule, customer and occasion (the birthday, or the
    last visit day a win-back episode started from), so a sweep that runs twice records nothing new.
    """

    class Rule(models.TextChoices):
        BIRTHDAY = "birthday", "Birthday prompts"
        WIN_BACK = "win_back", "Win-back list"

    rule = models.CharField(max_length=12, choices=Rule.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    occasion = models.DateField(help_text="The birthday, or the last visit day before the quiet weeks.")
    picked_on = models.DateField(help_text="The location's local day the rule picked them.")
    held_out = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "customer", "occasion"], name="rule_exposure_once"),
        ]
        indexes = [models.Index(fields=["rule", "picked_on"], name="rule_exposure_picked")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: customer {self.customer_id} on {self.picked_on}"
