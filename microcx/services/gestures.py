"""Writes for gestures: proposed, approved, rejected, delivered, cancelled.

Two locks, always in this order: a proposal, approval or cancellation first locks the
proposer's month (lock_spending), so what they may still approve on their own is read
and used by one transaction at a time; then every movement of money locks the budget's
row (lock_budget), so when twenty people approve at once they queue, each sees
the balance the one before left, and the available money never goes below zero.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.kernel import roles
from crm.kernel.models import Location, User
from crm.kernel.templatetags.crm_tags import money
from customers import page_cache
from customers.models import Customer, FollowUp, Note
from microcx import signals
from microcx.genuine import mechanical_flags
from microcx.models import Gesture, LedgerEntry
from microcx.services.amounts import clean_amount
from microcx.services.budgets import budget_balance, budget_for, ledger_write, lock_budget
from microcx.services.discretion import discretion_for, lock_spending, spending_month, within_discretion


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
    occasion: str | None = None,
) -> tuple[Gesture, bool]:
    """Propose a gesture: approved at once within the proposer's discretion, otherwise waiting for a manager.

    Returns (gesture, created); the same idempotency key returns the first gesture. The proposer's
    spending for the month is locked before anything is read, so a double click waits for the first
    click's gesture, and simultaneous proposals each see what the others spent.
    """
    month = spending_month(location)
    lock_spending(proposer.pk, month)
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
        occasion=occasion or "",
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

    The caller holds the proposer's spending lock for the gesture's month (lock_spending).
    """
    budget = lock_budget(gesture.budget)
    available = budget_balance(budget).available
    if gesture.amount > available:
        raise ValidationError(
            f"Not enough left in the {budget.label} budget: {money(available)} available, "
            f"{money(gesture.amount)} needed."
        )
    moved = Gesture.objects.filter(pk=gesture.pk, status=Gesture.Status.PENDING).update(
        status=Gesture.Status.APPROVED, decided_by=by, decided_at=timezone.now()
    )
    page_cache.changed(gesture.customer_id)
    if moved != 1:
        raise ValidationError("This gesture was already decided.")
    ledger_write(budget, LedgerEntry.Kind.HOLD, gesture.amount, by, gesture=gesture)
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
    lock_spending(gesture.proposed_by_id, gesture.month)
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
    page_cache.changed(gesture.customer_id)
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
    lock_budget(gesture.budget)
    moved = Gesture.objects.filter(pk=gesture.pk, status=Gesture.Status.APPROVED).update(
        status=Gesture.Status.DELIVERED, delivered_on=delivered_on, customer_reaction=reaction.strip()[:300]
    )
    page_cache.changed(gesture.customer_id)
    if moved != 1:
        raise ValidationError("Only an approved gesture can be delivered.")
    ledger_write(gesture.budget, LedgerEntry.Kind.SPEND, gesture.amount, by, gesture=gesture)
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
    lock_spending(gesture.proposed_by_id, gesture.month)
    lock_budget(gesture.budget)
    was = Gesture.objects.filter(pk=gesture.pk).values_list("status", flat=True).first()
    moved = Gesture.objects.filter(pk=gesture.pk, status__in=[Gesture.Status.PENDING, Gesture.Status.APPROVED]).update(
        status=Gesture.Status.CANCELLED
    )
    page_cache.changed(gesture.customer_id)
    if moved != 1:
        raise ValidationError("Only a pending or approved gesture can be cancelled.")
    if was == Gesture.Status.APPROVED:
        ledger_write(gesture.budget, LedgerEntry.Kind.RELEASE, gesture.amount, by, gesture=gesture)
    gesture.refresh_from_db()
    return gesture


def _tell_proposer(gesture: Gesture, title: str, body: str = "") -> None:
    """Tell the gesture's proposer it was decided (the inbox listens and raises their notification)."""
    signals.gesture_decided.send(sender=Gesture, gesture=gesture, title=title, body=body)
