from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from crm.kernel.models import Location
from customers.models import Customer


class Touchpoint(models.Model):
    """Where the business meets its customers: in store, phone, email, word of mouth..."""

    class Channel(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"

    class Stage(models.TextChoices):
        BEFORE = "before", "Before the sale"
        DURING = "during", "During the sale"
        AFTER = "after", "After the sale"

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    icon = models.CharField(max_length=30, default="chat", help_text="A Bootstrap Icons name.")
    is_active = models.BooleanField(default=True, help_text="Retired touchpoints keep their history.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class CustomerOrigin(models.Model):
    """Where a customer first heard of the business (search, word of mouth...): one touchpoint at most.

    Kept in journeys, keyed on the customer, because customers knows nothing of touchpoints. Not the first
    interaction's touchpoint: hearing of a shop is not a contact with it (no visit, no date, no staff).
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="origin")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.CASCADE, related_name="+", verbose_name="first heard of us via"
    )

    def __str__(self) -> str:
        return f"{self.customer} heard of us via {self.touchpoint}"


class Interaction(models.Model):
    """One contact with a customer at a touchpoint: a conversation, a visit or a purchase."""

    class Kind(models.TextChoices):
        CONVERSATION = "conversation", "Conversation"
        VISIT = "visit", "Visit"
        PURCHASE = "purchase", "Purchase"

    class Sentiment(models.IntegerChoices):
        NEGATIVE = -1, "Negative"
        NEUTRAL = 0, "Neutral"
        POSITIVE = 1, "Positive"

    # Visits and purchases are the customer coming to the business; loyalty counts them.
    VISIT_KINDS = (Kind.VISIT, Kind.PURCHASE)

    # No index of their own: interaction_customer_recent and interaction_location_recent lead with them (every
    # index is paid for on each row an import adds).
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions", db_index=False)
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.PROTECT, related_name="interactions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="interactions", db_index=False)
    # Indexed where set (interaction_staff): imported rows have no staff.
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONVERSATION)
    stage = models.CharField(
        max_length=10, choices=Touchpoint.Stage.choices, blank=True, help_text="Before, during or after the sale."
    )
    occurred_at = models.DateTimeField()
    summary = models.TextField("what happened", max_length=2000, blank=True)
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # Unique by a constraint (interaction_external_ref_unique), not unique=True: that also makes a LIKE index
    # nobody queries with.
    external_ref = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - NULL: no reference (unique)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        permissions = [("import_interactions", "Can import interactions from CSV")]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_recent"),
            models.Index(fields=["location", "-occurred_at"], name="interaction_location_recent"),
            models.Index(fields=["occurred_at"], name="interaction_occurred"),
            models.Index(fields=["staff"], name="interaction_staff", condition=models.Q(staff__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_ref"], name="interaction_external_ref_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0), name="interaction_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.touchpoint} on {self.occurred_at:%Y-%m-%d}"

    @property
    def is_visit(self) -> bool:
        return self.kind in self.VISIT_KINDS


class Persona(models.Model):
    """A kind of customer the business designs for: their goals, needs, frustrations and channels."""

    name = models.CharField(max_length=80, unique=True)
    summary = models.CharField(max_length=200, blank=True, help_text="One line: who they are.")
    goals = models.TextField(blank=True)
    needs = models.TextField(blank=True)
    frustrations = models.TextField(blank=True)
    preferred_touchpoints = models.ManyToManyField(Touchpoint, blank=True, related_name="personas")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerPersona(models.Model):
    """Which persona a customer is (one at most)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="persona_link")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="members")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    assigned_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["persona", "customer"], name="persona_members")]

    def __str__(self) -> str:
        return f"{self.customer} is {self.persona}"


class JourneyStep(models.Model):
    """One step of a persona's designed journey: at a touchpoint, in a stage, what should happen."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=10, choices=Touchpoint.Stage.choices)
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    customer_goal = models.CharField(max_length=200, blank=True)
    pain_points = models.TextField(blank=True)
    moment_that_matters = models.CharField(max_length=200, blank=True)
    improvement_idea = models.TextField(blank=True)

    class Meta:
        ordering = ["persona", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.persona}: {self.touchpoint} ({self.get_stage_display()})"


class CustomerJourneyStat(models.Model):
    """Per customer, touchpoint and stage: how many interactions, their sentiment, first and last.

    Kept current in the same transaction as every interaction insert, so a
    persona's observed journey sums a few rows per customer instead of
    scanning millions of interactions.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10)
    interactions = models.PositiveIntegerField(default=0)
    sentiment_sum = models.IntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "touchpoint", "stage"], name="journey_stat_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} at {self.touchpoint_id} ({self.stage}): {self.interactions}"


class TouchpointMonth(models.Model):
    """Interactions per touchpoint, location, stage and month, kept current on every insert (for trends)."""

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="months")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10)
    month = models.DateField()
    interactions = models.PositiveIntegerField(default=0)
    sentiment_sum = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["touchpoint", "location", "stage", "month"], name="touchpoint_month_once")
        ]
        indexes = [models.Index(fields=["month"], name="touchpoint_month_month")]

    def __str__(self) -> str:
        return f"{self.touchpoint_id} at {self.location_id} in {self.month:%Y-%m}: {self.interactions}"


class TouchpointMetric(models.Model):
    """A figure the business already has for a touchpoint and month (open rate, bounce rate, waiting time...)."""

    class Name(models.TextChoices):
        EMAIL_OPEN_RATE = "email_open_rate", "Email open rate (%)"
        BOUNCE_RATE = "bounce_rate", "Website bounce rate (%)"
        TIME_ON_PAGE = "time_on_page", "Time on page (seconds)"
        CALL_WAITING = "call_waiting", "Call waiting time (seconds)"
        COMPLAINTS = "complaints", "Complaints"
        OTHER = "other", "Other"

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="metrics")
    month = models.DateField(help_text="The first day of the month.")
    name = models.CharField(max_length=20, choices=Name.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["touchpoint", "name", "month"]
        constraints = [models.UniqueConstraint(fields=["touchpoint", "month", "name"], name="touchpoint_metric_once")]

    def __str__(self) -> str:
        return f"{self.touchpoint} {self.get_name_display()} {self.month:%Y-%m}: {self.value}"


class ApiToken(models.Model):
    """A token a till or a website contact form uses to send interactions; only its hash is kept."""

    name = models.CharField(max_length=80, help_text="What uses it: the till at Downtown, the website form.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
