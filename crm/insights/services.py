"""The insights' one write: the business's win-back rule."""

from django.db import transaction

from crm.insights.models import LoyaltyRule
from crm.kernel.models import User


@transaction.atomic
def loyalty_rule_set(*, by: User, regular_visit_days: int, regular_months: int, quiet_weeks: int) -> LoyaltyRule:
    """Set the business's win-back rule (audited, as every settings change is); the next figures use it."""
    rule = LoyaltyRule.current()
    rule.regular_visit_days, rule.regular_months, rule.quiet_weeks = regular_visit_days, regular_months, quiet_weeks
    rule.updated_by = by
    rule.full_clean()
    rule.save(update_fields=["regular_visit_days", "regular_months", "quiet_weeks", "updated_by", "updated_at"])
    return rule
