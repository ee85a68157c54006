"""Writes for budgets and their append-only ledger, and the balances read from it.

Every movement of money locks the budget's row first (lock_budget: SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from crm.kernel.models import Location, User
from crm.kernel.templatetags.crm_tags import money
from microcx.models import Budget, LedgerEntry
from microcx.services.amounts import ZERO, clean_amount


@dataclass(frozen=True)
class Balance:
    allocated: Decimal
    available: Decimal
    held: Decimal
    spent: Decimal


def budget_balance(budget: Budget) -> Balance:
    """Derive the balance from the ledger, nothing else."""
    return balances([budget.pk])[budget.pk]


def balances(budget_ids: list[int]) -> dict[int, Balance]:
    sums = {pk: dict.fromkeys(LedgerEntry.Kind.values, ZERO) for pk in budget_ids}
    rows = (
        LedgerEntry.objects.filter(budget_id__in=budget_ids).values("budget_id", "kind").annotate(total=Sum("amount"))
    )
    for row in rows:
        sums[row["budget_id"]][row["kind"]] = row["total"]
    result = {}
    for pk, s in sums.items():
        allocated = s["allocation"] + s["adjustment"]
        result[pk] = Balance(
            allocated=allocated,
            available=allocated - s["hold"] + s["release"],
            held=s["hold"] - s["spend"] - s["release"],
            spent=s["spend"],
        )
    return result


def budget_for(location: Location, day: datetime.date | None = None) -> Budget | None:
    """The location's budget for the period containing `day` (the location's today by default)."""
    day = day or location.local_today()
    return Budget.objects.filter(location=location, starts_on__lte=day, ends_on__gte=day).first()


def lock_budget(budget: Budget) -> Budget:
    return Budget.objects.select_for_update().get(pk=budget.pk)


def ledger_write(
    budget: Budget, kind: str, amount: Decimal, by: User | None, gesture=None, reason: str = ""
) -> LedgerEntry:
    return LedgerEntry.objects.create(
        budget=budget, kind=kind, amount=amount, gesture=gesture, reason=reason, created_by=by
    )


@transaction.atomic
def budget_create(
    *,
    location: Location,
    period: str,
    day: datetime.date,
    amount: Decimal,
    by: User | None,
    rolls_over: bool = False,
    renews: bool = False,
) -> Budget:
    """Set a budget for the month or quarter containing `day`, with its first allocation.

    Periods of one location never overlap: the database's exclusion constraint decides when two
    managers (or one double click) set budgets at the same moment, and the loser is told which
    budget already covers those days.
    """
    if by is not None and not by.has_perm("microcx.add_budget"):
        raise PermissionDenied("Only managers and owners set budgets.")
    amount = clean_amount(amount)
    starts_on, ends_on = Budget.period_bounds(period, day)
    _refuse_overlap(location, starts_on, ends_on)
    budget = Budget(
        location=location,
        period=period,
        starts_on=starts_on,
        ends_on=ends_on,
        rolls_over=rolls_over,
        renews=renews,
        renewal_amount=amount,
        created_by=by,
    )
    # The exclusion constraint is checked by the database below, not twice here.
    budget.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            budget.save()
    except IntegrityError:
        # Another budget for these days was committed while this one was being saved.
        _refuse_overlap(location, starts_on, ends_on)
        raise
    ledger_write(budget, LedgerEntry.Kind.ALLOCATION, amount, by, reason=f"Budget for {budget.label}")
    return budget


def _refuse_overlap(location: Location, starts_on: datetime.date, ends_on: datetime.date) -> None:
    overlapping = Budget.objects.filter(location=location, starts_on__lte=ends_on, ends_on__gte=starts_on).first()
    if overlapping is not None:
        raise ValidationError(f"{location} already has a budget for {overlapping.label}.")


@transaction.atomic
def budget_adjust(*, budget: Budget, amount: Decimal, reason: str, by: User) -> LedgerEntry:
    """Add to or take from a budget, with the owner's reason; never below what is available."""
    if not by.has_perm("microcx.adjust_budget"):
        raise PermissionDenied("Only owners adjust budgets.")
    amount = clean_amount(amount, allow_negative=True)
    if amount == 0:
        raise ValidationError("An adjustment of zero changes nothing.")
    if not reason.strip():
        raise ValidationError("Say why the budget changes.")
    budget = lock_budget(budget)
    available = budget_balance(budget).available
    if available + amount < 0:
        raise ValidationError(f"Only {money(available)} is available; the budget cannot go below zero.")
    return ledger_write(budget, LedgerEntry.Kind.ADJUSTMENT, amount, by, reason=reason.strip()[:300])


@transaction.atomic
def budget_renew(*, budget: Budget) -> Budget | None:
    """Create the next period's budget from this one (if the owner asked for it); idempotent.

    Nothing is created while the period has not ended in the location's own time zone, nor when
    the following days already have a budget (renewed before, or set by a manager).
    """
    budget = Budget.objects.select_for_update().select_related("location").get(pk=budget.pk)
    next_day = budget.ends_on + datetime.timedelta(days=1)
    if not budget.renews or budget.location.local_today() < next_day:
        return None
    next_start, next_end = Budget.period_bounds(budget.period, next_day)
    if Budget.objects.filter(location=budget.location, starts_on__lte=next_end, ends_on__gte=next_start).exists():
        return None
    following = budget_create(
        location=budget.location,
        period=budget.period,
        day=next_day,
        amount=budget.renewal_amount,
        by=None,
        rolls_over=budget.rolls_over,
        renews=True,
    )
    if budget.rolls_over:
        left = budget_balance(budget).available
        if left > 0:
            ledger_write(budget, LedgerEntry.Kind.ADJUSTMENT, -left, None, reason=f"Rolled over to {following.label}")
            ledger_write(following, LedgerEntry.Kind.ALLOCATION, left, None, reason=f"Rolled over from {budget.label}")
    return following


def budgets_to_renew() -> list[int]:
    """The renewing budgets whose period has ended in their location's own time zone."""
    # No location's today is more than a day past UTC's, so this bounds the rows read.
    latest = timezone.now().date() + datetime.timedelta(days=1)
    candidates = Budget.objects.filter(renews=True, ends_on__lt=latest).select_related("location")
    return [b.pk for b in candidates.only("ends_on", "location__timezone") if b.ends_on < b.location.local_today()]
