"""Writes for the micro-CX budget: budgets, gestures and their append-only ledger.

Every movement of money locks the budget's row first (SELECT ... FOR UPDATE),
so when twenty people approve at once they queue, each sees the balance the
one before left, and the available money never goes below zero.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from crm import roles
from crm.models import Location, Notification, User
from crm.templatetags.crm_tags import money
from customers.models import Customer, FollowUp, Note
from microcx.genuine import mechanical_flags
from microcx.models import MAX_AMOUNT, Budget, DiscretionRule, Gesture, LedgerEntry

CURRENCY_PLACES = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3}
ZERO = Decimal("0")


def currency_places() -> int:
    return CURRENCY_PLACES.get(settings.BUSINESS_CURRENCY, 2)


def clean_amount(amount: Decimal, *, allow_negative: bool = False) -> Decimal:
    """Refuse negative, absurd or over-precise amounts with a clear message."""
    if amount is None:
        raise ValidationError("Give an amount.")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValidationError("Give an amount such as 20 or 19.50.")
    if amount < 0 and not allow_negative:
        raise ValidationError("The amount cannot be negative.")
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(f"That is more than a micro-CX budget is for (at most {MAX_AMOUNT:,}).")
    places = currency_places()
    if -amount.as_tuple().exponent > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{settings.BUSINESS_CURRENCY} amounts have at most {places} decimal places.")
    return amount.quantize(Decimal(1).scaleb(-places)) if places else amount.quantize(Decimal(1))


# --- balances -------------------------------------------------------------------


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


def _locked(budget: Budget) -> Budget:
    return Budget.objects.select_for_update().get(pk=budget.pk)


def _entry(budget: Budget, kind: str, amount: Decimal, by: User | None, gesture=None, reason: str = "") -> LedgerEntry:
    return LedgerEntry.objects.create(
        budget=budget, kind=kind, amount=amount, gesture=gesture, reason=reason, created_by=by
    )


# --- budgets --------------------------------------------------------------------


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
    """Set a budget for the month or quarter containing `day`, with its first allocation."""
    if by is not None and not by.has_perm("microcx.add_budget"):
        raise PermissionDenied("Only managers and owners set budgets.")
    amount = clean_amount(amount)
    starts_on, ends_on = Budget.period_bounds(period, day)
    overlapping = Budget.objects.filter(location=location, starts_on__lte=ends_on, ends_on__gte=starts_on)
    if overlapping.exists():
        raise ValidationError(f"{location} already has a budget for {overlapping.first().label}.")
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
    budget.full_clean()
    budget.save()
    _entry(budget, LedgerEntry.Kind.ALLOCATION, amount, by, reason=f"Budget for {budget.label}")
    return budget


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
    budget = _locked(budget)
    available = budget_balance(budget).available
    if available + amount < 0:
        raise ValidationError(f"Only {money(available)} is available; the budget cannot go below zero.")
    return _entry(budget, LedgerEntry.Kind.ADJUSTMENT, amount, by, reason=reason.strip()[:300])


@transaction.atomic
def budget_renew(*, budget: Budget) -> Budget | None:
    """Create the next period's budget from this one (if the owner asked for it); idempotent."""
    if not budget.renews:
        return None
    next_day = budget.ends_on + datetime.timedelta(days=1)
    if Budget.objects.filter(location=budget.location, starts_on=next_day).exists():
        return None
    budget = _locked(budget)
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
            _entry(budget, LedgerEntry.Kind.ADJUSTMENT, -left, None, reason=f"Rolled over to {following.label}")
            _entry(following, LedgerEntry.Kind.ALLOCATION, left, None, reason=f"Rolled over from {budget.label}")
    return following


def budgets_to_renew(today: datetime.date) -> list[int]:
    return list(Budget.objects.filter(renews=True, ends_on__lt=today).values_list("pk", flat=True))


# --- discretion -------------------------------------------------------------------


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


def month_spend(user: User, day: datetime.date) -> Decimal:
    """What this person's approved and delivered gestures of that month add up to."""
    start, end = Budget.period_bounds(Budget.Period.MONTH, day)
    total = Gesture.objects.filter(
        proposed_by=user,
        created_at__date__gte=start,
        created_at__date__lte=end,
        status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED],
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def within_discretion(user: User, amount: Decimal, day: datetime.date) -> tuple[bool, str]:
    """Say whether the person may spend this on their own, and if not, why."""
    rule = rule_for(user)
    if rule is None:
        return False, "Your role has no spending discretion set, so a manager approves."
    if amount > rule.per_gesture_limit:
        return False, f"Above your limit of {money(rule.per_gesture_limit)} a gesture, so a manager approves."
    if month_spend(user, day) + amount > rule.monthly_cap:
        return False, f"Above your monthly cap of {money(rule.monthly_cap)}, so a manager approves."
    return True, ""


# --- gestures ----------------------------------------------------------------------


class NeedsConfirmation(Exception):
    """The gesture looks mechanical: ask the proposer whether it is genuine before saving."""

    def __init__(self, flags: list[str]) -> None:
        super().__init__("; ".join(flags))
        self.flags = flags


@transaction.atomic
def gesture_propose(
    *,
    customer: Customer,
    proposer: User,
    location: Location,
    category: str,
    description: str,
    amount: Decimal,
    idempotency_key: uuid.UUID,
    note: Note | None = None,
    follow_up: FollowUp | None = None,
    confirmed_genuine: bool = False,
) -> tuple[Gesture, bool]:
    """Propose a gesture: approved at once within the proposer's discretion, otherwise waiting for a manager.

    Returns (gesture, created); the same idempotency key returns the first gesture.
    """
    existing = _same_form(idempotency_key, proposer=proposer, customer=customer)
    if existing is not None:
        return existing, False
    amount = clean_amount(amount)
    budget = budget_for(location)
    if budget is None:
        raise ValidationError(f"{location} has no micro-CX budget for this period yet; ask a manager to set one.")
    flags = mechanical_flags(
        proposer=proposer, customer=customer, category=category, amount=amount, description=description
    )
    if flags and not confirmed_genuine:
        raise NeedsConfirmation(flags)
    gesture = Gesture(
        customer=customer,
        location=location,
        budget=budget,
        proposed_by=proposer,
        category=category,
        description=description.strip(),
        amount=amount,
        note=note,
        follow_up=follow_up,
        flags=flags,
        status=Gesture.Status.PENDING,
        idempotency_key=idempotency_key,
    )
    gesture.full_clean()
    allowed, _why = within_discretion(proposer, amount, location.local_today())
    try:
        with transaction.atomic():
            gesture.save()
    except IntegrityError:
        # The same form arrived twice at the same moment: the other one won.
        return _same_form(idempotency_key, proposer=proposer, customer=customer), False
    if allowed:
        _hold(gesture, by=proposer)
    return gesture, True


def _same_form(idempotency_key: uuid.UUID, *, proposer: User, customer: Customer) -> Gesture | None:
    """Return the gesture this form already made, or None.

    A key is only ever the same form resent by the same person for the same customer: a key
    copied from someone else's gesture is refused rather than answered with that gesture.
    """
    existing = Gesture.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and (existing.proposed_by_id != proposer.pk or existing.customer_id != customer.pk):
        raise ValidationError("This form was already used for another gesture; open the form again.")
    return existing


def _hold(gesture: Gesture, *, by: User) -> None:
    """Approve: hold the money if the budget still has it; the budget row is locked meanwhile."""
    budget = _locked(gesture.budget)
    available = budget_balance(budget).available
    if gesture.amount > available:
        raise ValidationError(
            f"Not enough left in the {budget.label} budget: {money(available)} available, "
            f"{money(gesture.amount)} needed."
        )
    moved = Gesture.objects.filter(pk=gesture.pk, status=Gesture.Status.PENDING).update(
        status=Gesture.Status.APPROVED, decided_by=by, decided_at=timezone.now()
    )
    if moved != 1:
        raise ValidationError("This gesture was already decided.")
    _entry(budget, LedgerEntry.Kind.HOLD, gesture.amount, by, gesture=gesture)
    gesture.refresh_from_db()


def can_approve(user: User, gesture: Gesture) -> tuple[bool, str]:
    if not user.has_perm("microcx.approve_gesture"):
        return False, "Only managers and owners approve gestures."
    if gesture.proposed_by_id == user.pk and roles.role_of(user) != roles.OWNER:
        allowed, _why = within_discretion(user, gesture.amount, gesture.location.local_today())
        if not allowed:
            return False, "You cannot approve your own gesture beyond your limit; an owner must."
    return True, ""


@transaction.atomic
def gesture_approve(*, gesture: Gesture, by: User) -> Gesture:
    allowed, why = can_approve(by, gesture)
    if not allowed:
        raise PermissionDenied(why)
    if gesture.status != Gesture.Status.PENDING:
        raise ValidationError("This gesture was already decided.")
    _hold(gesture, by=by)
    _tell_proposer(gesture, f"Approved: {gesture.get_category_display()} for {gesture.customer.greeting_name}")
    return gesture


@transaction.atomic
def gesture_reject(*, gesture: Gesture, by: User, reason: str) -> Gesture:
    if not by.has_perm("microcx.approve_gesture"):
        raise PermissionDenied("Only managers and owners reject gestures.")
    if not reason.strip():
        raise ValidationError("Give the reason, so the proposer understands.")
    moved = Gesture.objects.filter(pk=gesture.pk, status=Gesture.Status.PENDING).update(
        status=Gesture.Status.REJECTED, decided_by=by, decided_at=timezone.now(), rejection_reason=reason.strip()[:300]
    )
    if moved != 1:
        raise ValidationError("This gesture was already decided.")
    gesture.refresh_from_db()
    _tell_proposer(
        gesture,
        f"Not approved: {gesture.get_category_display()} for {gesture.customer.greeting_name}",
        body=f"Reason: {gesture.rejection_reason}",
    )
    return gesture


@transaction.atomic
def gesture_deliver(
    *, gesture: Gesture, by: User, delivered_on: datetime.date, reaction: str = "", receipt=None
) -> Gesture:
    """Record that the customer received it: the held money is spent."""
    _locked(gesture.budget)
    moved = Gesture.objects.filter(pk=gesture.pk, status=Gesture.Status.APPROVED).update(
        status=Gesture.Status.DELIVERED, delivered_on=delivered_on, customer_reaction=reaction.strip()[:300]
    )
    if moved != 1:
        raise ValidationError("Only an approved gesture can be delivered.")
    _entry(gesture.budget, LedgerEntry.Kind.SPEND, gesture.amount, by, gesture=gesture)
    gesture.refresh_from_db()
    if receipt is not None:
        gesture.receipt = receipt
        gesture.save(update_fields=["receipt"])
    return gesture


@transaction.atomic
def gesture_cancel(*, gesture: Gesture, by: User) -> Gesture:
    """Cancel a gesture not yet delivered; money held for it is released."""
    if gesture.proposed_by_id != by.pk and not by.has_perm("microcx.approve_gesture"):
        raise PermissionDenied("Only the proposer or a manager can cancel a gesture.")
    _locked(gesture.budget)
    was = Gesture.objects.filter(pk=gesture.pk).values_list("status", flat=True).first()
    moved = Gesture.objects.filter(pk=gesture.pk, status__in=[Gesture.Status.PENDING, Gesture.Status.APPROVED]).update(
        status=Gesture.Status.CANCELLED
    )
    if moved != 1:
        raise ValidationError("Only a pending or approved gesture can be cancelled.")
    if was == Gesture.Status.APPROVED:
        _entry(gesture.budget, LedgerEntry.Kind.RELEASE, gesture.amount, by, gesture=gesture)
    gesture.refresh_from_db()
    return gesture


def _tell_proposer(gesture: Gesture, title: str, body: str = "") -> None:
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=gesture.proposed_by_id,
                kind=Notification.Kind.MESSAGE,
                source=f"gesture:{gesture.pk}:{gesture.status}",
                occurrence=gesture.location.local_today(),
                customer_id=gesture.customer_id,
                title=title,
                body=body,
                url=f"/microcx/gestures/{gesture.pk}/",
            )
        ],
        ignore_conflicts=True,
    )
