"""Writes for the micro-CX budget: budgets, gestures and their append-only ledger.

Two locks, always in this order: a proposal, approval or cancellation first locks the
proposer's month (_lock_spending), so what they may still approve on their own is read
and used by one transaction at a time; then every movement of money locks the budget's
row (SELECT ... FOR UPDATE), so when twenty people approve at once they queue, each sees
the balance the one before left, and the available money never goes below zero.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from crm.kernel import business, roles
from crm.kernel.models import Location, User
from crm.kernel.templatetags.crm_tags import money
from customers.models import Customer, FollowUp, Note
from microcx import signals
from microcx.genuine import mechanical_flags
from microcx.models import MAX_AMOUNT, Budget, DiscretionRule, Gesture, LedgerEntry

CURRENCY_PLACES = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3}
ZERO = Decimal("0")


def currency_places() -> int:
    return CURRENCY_PLACES.get(business.current().currency, 2)


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
        raise ValidationError(f"{business.current().currency} amounts have at most {places} decimal places.")
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
    _entry(budget, LedgerEntry.Kind.ALLOCATION, amount, by, reason=f"Budget for {budget.label}")
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
    budget = _locked(budget)
    available = budget_balance(budget).available
    if available + amount < 0:
        raise ValidationError(f"Only {money(available)} is available; the budget cannot go below zero.")
    return _entry(budget, LedgerEntry.Kind.ADJUSTMENT, amount, by, reason=reason.strip()[:300])


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
            _entry(budget, LedgerEntry.Kind.ADJUSTMENT, -left, None, reason=f"Rolled over to {following.label}")
            _entry(following, LedgerEntry.Kind.ALLOCATION, left, None, reason=f"Rolled over from {budget.label}")
    return following


def budgets_to_renew() -> list[int]:
    """The renewing budgets whose period has ended in their location's own time zone."""
    # No location's today is more than a day past UTC's, so this bounds the rows read.
    latest = timezone.now().date() + datetime.timedelta(days=1)
    candidates = Budget.objects.filter(renews=True, ends_on__lt=latest).select_related("location")
    return [b.pk for b in candidates.only("ends_on", "location__timezone") if b.ends_on < b.location.local_today()]


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


def _lock_spending(user_id: int, month: datetime.date) -> None:
    """Serialise one person's spending for one month until the transaction ends.

    Taken before their month's spend is read and held until commit, so simultaneous proposals
    and approvals of that person's gestures queue here and each sees what the one before spent.
    Always taken before the budget row's lock (_locked), in that order everywhere.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"microcx.spending:{user_id}:{month:%Y-%m}"]
        )


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

    Returns (gesture, created); the same idempotency key returns the first gesture. The proposer's
    spending for the month is locked before anything is read, so a double click waits for the first
    click's gesture, and simultaneous proposals each see what the others spent.
    """
    month = spending_month(location)
    _lock_spending(proposer.pk, month)
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
    allowed, why = discretion_for(proposer, month).allows(amount, who=str(proposer))  # read by managers
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
        month=month,
        approval_reason="" if allowed else f"Needs a manager: {why}."[:300],
        idempotency_key=idempotency_key,
    )
    # The key's uniqueness is the database's to decide (below): as a form error it would land on a hidden field.
    gesture.full_clean(exclude=["idempotency_key"])
    try:
        with transaction.atomic():
            gesture.save()
    except IntegrityError:
        # The same form arrived twice at the same moment: the other one won.
        existing = _same_form(idempotency_key, proposer=proposer, customer=customer)
        if existing is None:
            raise
        return existing, False
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


def gesture_for_form(idempotency_key: uuid.UUID, *, proposer: User, customer: Customer) -> Gesture | None:
    """The gesture a form (its key) already made for this proposer and customer, if any."""
    return Gesture.objects.filter(idempotency_key=idempotency_key, proposed_by=proposer, customer=customer).first()


def _hold(gesture: Gesture, *, by: User) -> None:
    """Approve: hold the money if the budget still has it; the budget row is locked meanwhile.

    The caller holds the proposer's spending lock for the gesture's month (_lock_spending).
    """
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
    """Say whether `user` may approve the gesture; its pages ask this, gesture_approve asks it again under the lock."""
    if not user.has_perm("microcx.approve_gesture"):
        return False, "Only managers and owners approve gestures."
    if gesture.proposed_by_id == user.pk and roles.role_of(user) != roles.OWNER:
        allowed, why = within_discretion(user, gesture.amount, gesture.month)
        if not allowed:
            return False, f"{why[:1].upper()}{why[1:]}: your own gesture needs another manager or an owner."
    return True, ""


@transaction.atomic
def gesture_approve(*, gesture: Gesture, by: User) -> Gesture:
    _lock_spending(gesture.proposed_by_id, gesture.month)
    gesture.refresh_from_db(fields=["status"])
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
    # Releasing held money changes the proposer's month: the same lock as approving it.
    _lock_spending(gesture.proposed_by_id, gesture.month)
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
    """Tell the gesture's proposer it was decided (the inbox listens and raises their notification)."""
    signals.gesture_decided.send(sender=Gesture, gesture=gesture, title=title, body=body)
