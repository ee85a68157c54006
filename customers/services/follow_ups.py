"""Writes for follow-ups: create, take on, complete and dismiss."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.kernel import access
from crm.kernel.models import Location, User
from customers import page_cache, signals
from customers.models import Customer, FollowUp, Note
from customers.services.notes import note_create


@transaction.atomic
def follow_up_create(
    *,
    customer: Customer,
    created_by: User,
    prompt: str,
    due: str = FollowUp.Due.NEXT_VISIT,
    due_date: datetime.date | None = None,
    assignee: User | None = None,
    location: Location | None = None,
    note: Note | None = None,
) -> FollowUp:
    """Create a follow-up for staff; without an assignee it is for the whole location."""
    due_date = due_date if due == FollowUp.Due.ON_DATE else None
    follow_up = FollowUp(
        customer=customer,
        prompt=prompt.strip(),
        due=due,
        due_date=due_date,
        next_reminder_on=due_date,
        assignee=assignee,
        location=location or customer.home_location,
        note=note,
        created_by=created_by,
    )
    follow_up.full_clean()
    follow_up.save()
    return follow_up


def _close(follow_up: FollowUp, status: str, user: User) -> FollowUp:
    """Close an open follow-up exactly once, even when two staff click at the same moment."""
    closed = FollowUp.objects.filter(pk=follow_up.pk, status=FollowUp.Status.OPEN).update(
        status=status, closed_at=timezone.now(), closed_by=user, next_reminder_on=None
    )
    page_cache.changed(follow_up.customer_id)
    if closed != 1:
        raise ValidationError("This follow-up was already closed.")
    follow_up.refresh_from_db()
    signals.follow_up_closed.send(sender=FollowUp, follow_up=follow_up)
    return follow_up


@transaction.atomic
def follow_up_complete(*, follow_up: FollowUp, user: User, outcome: str = "") -> FollowUp:
    """Mark a follow-up done; an outcome ("Rex is fine now") becomes a personal note.

    The outcome of a follow-up written from a sensitive note is as private as that note:
    sensitive, and written at the note's location ("chemo is finished" stays where it was told).
    """
    follow_up = _close(follow_up, FollowUp.Status.DONE, user)
    if outcome.strip():
        source = follow_up.note
        private = source is not None and source.is_sensitive
        note = note_create(
            customer=follow_up.customer,
            author=user,
            text=outcome,
            is_sensitive=private,
            location=source.location if private else follow_up.location,
        )
        follow_up.outcome_note = note
        follow_up.save(update_fields=["outcome_note"])
    return follow_up


@transaction.atomic
def follow_up_take(*, follow_up: FollowUp, user: User) -> FollowUp:
    """Take a whole-location follow-up on: it becomes this member of staff's."""
    taken = FollowUp.objects.filter(pk=follow_up.pk, status=FollowUp.Status.OPEN, assignee__isnull=True).update(
        assignee=user
    )
    page_cache.changed(follow_up.customer_id)
    if taken != 1:
        raise ValidationError("Someone already took this follow-up, or it is closed.")
    follow_up.refresh_from_db()
    signals.follow_up_taken.send(sender=FollowUp, follow_up=follow_up)
    return follow_up


@transaction.atomic
def follow_up_dismiss(*, follow_up: FollowUp, user: User) -> FollowUp:
    return _close(follow_up, FollowUp.Status.DISMISSED, user)


def follow_up_location_for(user: User, customer: Customer) -> Location:
    """The location a follow-up belongs to: the customer's home, unless this user works elsewhere only."""
    staff_locations = access.staff_locations(user)
    if not staff_locations or customer.home_location in staff_locations:
        return customer.home_location
    return staff_locations[0]
