"""The insights' own row: the business's win-back rule (its table kept the crm_ name)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


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
        db_table = "crm_loyaltyrule"  # the table kept its name when the model moved here from crm
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
