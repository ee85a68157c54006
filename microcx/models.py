import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models

from crm.kernel.models import Location
from customers.models import Customer, FollowUp, Note

MAX_AMOUNT = Decimal("10000")


class PeriodRange(models.Func):
    """The days of a budget period as a PostgreSQL daterange, both ends included."""

    function = "DATERANGE"
    output_field = DateRangeField()

    def __init__(self, starts_on: str, ends_on: str) -> None:
        super().__init__(models.F(starts_on), models.F(ends_on), models.Value("[]"))


class Budget(models.Model):
    """Money set aside at one location for one month or quarter, for staff to spend on gestures."""

    class Period(models.TextChoices):
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="budgets")
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTH)
    starts_on = models.DateField(help_text="The first day of the month or quarter.")
    ends_on = models.DateField(editable=False)
    rolls_over = models.BooleanField(
        "unspent money rolls over", default=False, help_text="Carry what is left into the next period's budget."
    )
    renews = models.BooleanField(
        "renew automatically",
        default=False,
        help_text="On the first day of the next period, create its budget with the same allocation.",
    )
    renewal_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "location__name"]
        permissions = [("adjust_budget", "Can adjust a budget with a reason")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="budget_period_order"),
            # One budget per location per day: a month and a quarter cannot both cover the same days,
            # however many managers set them at the same moment (needs btree_gist, migration 0003).
            ExclusionConstraint(
                name="budget_periods_do_not_overlap",
                expressions=[
                    ("location", RangeOperators.EQUAL),
                    (PeriodRange("starts_on", "ends_on"), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location} · {self.label}"

    @property
    def label(self) -> str:
        if self.period == self.Period.QUARTER:
            return f"Q{(self.starts_on.month - 1) // 3 + 1} {self.starts_on.year}"
        return self.starts_on.strftime("%B %Y")

    @staticmethod
    def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
        """Return the first and last day of the month or quarter containing `day`."""
        if period == Budget.Period.QUARTER:
            first_month = (day.month - 1) // 3 * 3 + 1
            start = day.replace(month=first_month, day=1)
            months = 3
        else:
            start, months = day.replace(day=1), 1
        year, month = divmod(start.month - 1 + months, 12)
        following = datetime.date(start.year + year, month + 1, 1)
        return start, following - datetime.timedelta(days=1)


class DiscretionRule(models.Model):
    """How much a role may spend on one gesture, and per person per month, without asking a manager."""

    class Role(models.TextChoices):
        FRONTLINE = "frontline", "Frontline staff"
        MANAGER = "manager", "Manager"
        OWNER = "owner", "Owner"

    role = models.CharField(max_length=10, choices=Role.choices, unique=True)
    per_gesture_limit = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)], help_text="Up to this, no approval needed."
    )
    monthly_cap = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)], help_text="Per person, per month."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["per_gesture_limit"]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.per_gesture_limit} a gesture, {self.monthly_cap} a month"


class Gesture(models.Model):
    """A small, genuine, personal touch for one customer, paid from the micro-CX budget."""

    class Category(models.TextChoices):
        GIFT_CARD = "gift_card", "Gift card"
        CARD = "card", "Handwritten card"
        FLOWERS = "flowers", "Flowers"
        SMALL_GIFT = "small_gift", "Small gift"
        DISCOUNT = "discount", "Discount or freebie"
        FAVOUR = "favour", "Time or favour at no cost"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a manager"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class Occasion(models.TextChoices):
        # Shown apart in "did the gestures help?": putting a bad experience right is a different bet from delight.
        RECOVERY = "recovery", "Putting right a bad experience"
        DELIGHT = "delight", "To delight"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="gestures")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="gestures")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="gestures")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gestures")
    category = models.CharField(max_length=12, choices=Category.choices)
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    note = models.ForeignKey(Note, on_delete=models.SET_NULL, null=True, blank=True, related_name="gestures")
    follow_up = models.ForeignKey(FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="gestures")
    status = models.CharField(max_length=10, choices=Status.choices)
    occasion = models.CharField(
        max_length=8,
        choices=Occasion.choices,
        blank=True,
        # Blank: not said. The loyalty figures then call it a recovery when the customer had an unhappy
        # interaction in the 30 days before the gesture, else a delight (crm/insights/impact.py, one place).
        help_text="Recovery: after a bad experience (a complaint or an unhappy visit). Delight: anything else.",
    )
    # The first day of the proposing location's local month: whose monthly cap the gesture counts against.
    month = models.DateField(editable=False)
    # Why it waits for a manager, with the figures, as the proposer was told ("$60 is over your $50 ...").
    approval_reason = models.CharField(max_length=300, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=300, blank=True)
    delivered_on = models.DateField(null=True, blank=True)
    receipt = models.FileField(upload_to="receipts/%Y/%m/", blank=True)
    customer_reaction = models.CharField(max_length=300, blank=True)
    # Warnings that it looked mechanical, kept for the manager's review.
    flags = models.JSONField(default=list, blank=True)
    # One per submitted form: a double click or a resent form finds the first gesture.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("approve_gesture", "Can approve and reject gestures"),
            ("view_spend_report", "Can see the spend report and monthly review"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="gesture_queue"),
            models.Index(fields=["proposed_by", "created_at"], name="gesture_by_person"),
            models.Index(fields=["proposed_by", "month"], name="gesture_by_person_month"),
            models.Index(fields=["customer", "created_at"], name="gesture_by_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) & models.Q(amount__lte=MAX_AMOUNT), name="gesture_amount_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} for {self.customer}"


class LedgerEntry(models.Model):
    """One movement of budget money. Append-only: the database refuses UPDATE and DELETE.

    allocation and adjustment change what is available; a hold moves money from
    available to held when a gesture is approved; a spend moves it from held to
    spent on delivery; a release gives it back on cancel.
    """

    class Kind(models.TextChoices):
        ALLOCATION = "allocation", "Allocation"
        HOLD = "hold", "Hold on approval"
        SPEND = "spend", "Spend on delivery"
        RELEASE = "release", "Release on cancel"
        ADJUSTMENT = "adjustment", "Adjustment by owner"

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    gesture = models.ForeignKey(Gesture, on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["budget", "kind"], name="ledger_by_budget")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="adjustment") | models.Q(amount__gte=0), name="ledger_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="adjustment") | ~models.Q(reason=""), name="ledger_adjustment_has_reason"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["hold", "spend", "release"]) | models.Q(gesture__isnull=False),
                name="ledger_movement_has_gesture",
            ),
            # A gesture's money is held, spent and released at most once each.
            models.UniqueConstraint(
                fields=["gesture", "kind"],
                condition=models.Q(gesture__isnull=False),
                name="ledger_one_movement_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
