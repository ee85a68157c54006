"""What each role may spend without asking, and the lock that serialises one person's spending."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from crm.kernel import roles
from crm.kernel.models import Location, User
from crm.kernel.templatetags.crm_tags import money
from microcx.models import DiscretionRule, Gesture
from microcx.services.amounts import ZERO

DEFAULT_RULES = {"frontline": ("25", "100"), "manager": ("75", "300"), "owner": ("500", "2000")}


@transaction.atomic
def discretion_rules_save(*, rules: list[DiscretionRule]) -> None:
    """Save what each role may spend without asking, all or nothing."""
    for rule in rules:
        rule.full_clean()
        rule.save()


def ensure_default_rules() -> None:
    """Create the default discretion rule of any role that has none (owners change them later)."""
    for role, (limit, cap) in DEFAULT_RULES.items():
        DiscretionRule.objects.get_or_create(
            role=role, defaults={"per_gesture_limit": Decimal(limit), "monthly_cap": Decimal(cap)}
        )


def rule_for(user: User) -> DiscretionRule | None:
    role = roles.role_of(user)
    return DiscretionRule.objects.filter(role=role).first() if role else None


def spending_month(location: Location) -> datetime.date:
    """The first day of the location's own current month: the month a gesture proposed there counts in."""
    return location.local_today().replace(day=1)


def month_spend(user: User, month: datetime.date) -> Decimal:
    """What this person's approved and delivered gestures of that month (its first day) add up to."""
    total = Gesture.objects.filter(
        proposed_by=user,
        month=month.replace(day=1),
        status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED],
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


@dataclass(frozen=True)
class Discretion:
    """What one member of staff may still approve on their own this month, and why not when they may not."""

    rule: DiscretionRule | None
    spent: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.rule.monthly_cap - self.spent, ZERO) if self.rule else ZERO

    @property
    def room(self) -> Decimal:
        """The most one gesture may cost and still be approved at once."""
        return min(self.rule.per_gesture_limit, self.left) if self.rule else ZERO

    @property
    def summary(self) -> str:
        if self.rule is None:
            return "Your role has no spending discretion set: gestures that cost money go to a manager."
        return (
            f"You may approve up to {money(self.rule.per_gesture_limit)} a gesture yourself; "
            f"you have {money(self.left)} left of your {money(self.rule.monthly_cap)} this month."
        )

    def allows(self, amount: Decimal, who: str | None = None) -> tuple[bool, str]:
        """Say whether `amount` is within it, and if not, why, with the figures (a clause: "$60 is over ...").

        Said to the person themself, or, with `who` (their name), about them to a manager.
        """
        your = "your" if who is None else f"{who}'s"
        if amount == 0:
            return True, ""  # a handwritten card or a favour costs the budget nothing
        if self.rule is None:
            return False, f"{your} role has no spending discretion set"
        if amount > self.rule.per_gesture_limit:
            return False, f"{money(amount)} is over {your} {money(self.rule.per_gesture_limit)} per-gesture limit"
        if self.spent + amount > self.rule.monthly_cap:
            if who is None:
                return False, (
                    f"{money(amount)} is more than you have left: you have {money(self.left)} left of your "
                    f"{money(self.rule.monthly_cap)} this month"
                )
            return False, (
                f"{money(amount)} is more than {who} has left: {money(self.left)} of their "
                f"{money(self.rule.monthly_cap)} this month"
            )
        return True, ""


def discretion_for(user: User, month: datetime.date) -> Discretion:
    """Read this person's discretion for the month (first day). Decisions that spend take the lock first."""
    return Discretion(rule=rule_for(user), spent=month_spend(user, month))


def within_discretion(user: User, amount: Decimal, month: datetime.date) -> tuple[bool, str]:
    """Say whether the person may spend this on their own, and if not, why."""
    return discretion_for(user, month).allows(amount)


def lock_spending(user_id: int, month: datetime.date) -> None:
    """Serialise one person's spending for one month until the transaction ends.

    Taken before their month's spend is read and held until commit, so simultaneous proposals
    and approvals of that person's gestures queue here and each sees what the one before spent.
    Always taken before the budget row's lock (_locked), in that order everywhere.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"microcx.spending:{user_id}:{month:%Y-%m}"]
        )
