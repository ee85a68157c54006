"""Writes that take up what the note reader proposed: a note captured with its follow-up,
suggestions accepted or ignored."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.kernel.models import User
from customers import page_cache
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Suggestion
from customers.selectors import open_follow_up_like
from customers.services.follow_ups import follow_up_create, follow_up_location_for
from customers.services.notes import note_create, note_gist
from customers.services.people import important_date_save, person_save


@transaction.atomic
def note_capture(
    *,
    customer: Customer,
    author: User,
    text: str,
    is_sensitive: bool = False,
    relevant_until: datetime.date | None = None,
) -> tuple[Note, FollowUp]:
    """Save a note and, in the same step, the follow-up it implies for the customer's next visit.

    The note reader's follow-up when it proposed one (accepted on the writer's behalf), otherwise
    "Ask about: <the note's first sentence>". A follow-up already open for the same thing is reused.
    """
    note = note_create(
        customer=customer, author=author, text=text, is_sensitive=is_sensitive, relevant_until=relevant_until
    )
    follow_ups = [s for s in note.suggestions.all() if s.kind == Suggestion.Kind.FOLLOW_UP]
    # The next-visit question first; a dated one ("how did the vet go?") when that is all the reader saw.
    follow_ups.sort(key=lambda s: s.payload.get("due") != FollowUp.Due.NEXT_VISIT)
    proposed = follow_ups[0] if follow_ups else None
    if proposed is not None:
        return note, suggestion_accept(suggestion=proposed, user=author)
    follow_up = follow_up_create(
        customer=customer,
        created_by=author,
        prompt=f"Ask about: {note_gist(note.text)}",
        due=FollowUp.Due.NEXT_VISIT,
        location=follow_up_location_for(author, customer),
        note=note,
    )
    return note, follow_up


def _decide(suggestion: Suggestion, status: str) -> None:
    decided = Suggestion.objects.filter(pk=suggestion.pk, status=Suggestion.Status.OPEN).update(
        status=status, decided_at=timezone.now()
    )
    if decided != 1:
        raise ValidationError("This suggestion was already dealt with.")
    page_cache.changed(suggestion.note.customer_id)


def suggestion_opens_form(suggestion: Suggestion) -> bool:
    """A gesture idea, or a date known only to the month, is taken up in a form that staff complete."""
    if suggestion.kind == Suggestion.Kind.GESTURE:
        return True
    return suggestion.kind == Suggestion.Kind.DATE and not suggestion.payload.get("day")


@transaction.atomic
def suggestion_accept(*, suggestion: Suggestion, user: User) -> object:
    """Create what the suggestion proposes (follow-up, important date or person) and return it.

    A suggestion that opens a form (see suggestion_opens_form) is only marked accepted: the form,
    prefilled from it, creates the gesture or the date.
    """
    _decide(suggestion, Suggestion.Status.ACCEPTED)
    if suggestion_opens_form(suggestion):
        return None
    note = suggestion.note
    customer = note.customer
    data = suggestion.payload
    if suggestion.kind == Suggestion.Kind.FOLLOW_UP:
        already = open_follow_up_like(customer, data["prompt"])
        if already is not None:
            return already  # accepted, but never a second identical follow-up
        due_date = datetime.date.fromisoformat(data["due_date"]) if data.get("due_date") else None
        return follow_up_create(
            customer=customer,
            created_by=user,
            prompt=data["prompt"],
            due=data["due"],
            due_date=due_date,
            location=follow_up_location_for(user, customer),
            note=note,
        )
    if suggestion.kind == Suggestion.Kind.DATE:
        return important_date_save(
            important_date=ImportantDate(
                customer=customer,
                kind=data["kind"],
                month=data["month"],
                day=data["day"],
                year=data.get("year"),
                label=data.get("label", ""),
            )
        )
    return person_save(
        person=Person(customer=customer, name=data["name"], relation=data["relation"], species=data.get("species", ""))
    )


@transaction.atomic
def suggestion_ignore(*, suggestion: Suggestion) -> None:
    _decide(suggestion, Suggestion.Status.IGNORED)
