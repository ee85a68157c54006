from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from crm.models import Location
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

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.PROTECT, related_name="interactions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="interactions")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONVERSATION)
    occurred_at = models.DateTimeField()
    summary = models.TextField("what happened", max_length=2000, blank=True)
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    external_ref = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_recent"),
            models.Index(fields=["location", "-occurred_at"], name="interaction_location_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0), name="interaction_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.touchpoint} on {self.occurred_at:%Y-%m-%d}"

    @property
    def is_visit(self) -> bool:
        return self.kind in self.VISIT_KINDS
