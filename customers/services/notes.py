"""Writes for personal notes, and the suggestions the note reader makes from them."""

from __future__ import annotations

import dataclasses
import datetime
import re

from django.core.exceptions import PermissionDenied
from django.db import transaction

from crm.kernel import access
from crm.kernel.models import Location, User
from customers.access import can_edit_note
from customers.models import Customer, Note, Suggestion
from customers.note_reader import Proposal, read_note
from customers.selectors import open_follow_up_like


def _local_time(at: datetime.datetime, location: Location) -> datetime.datetime:
    """The moment in the location's own time zone: "tomorrow" is the shop's tomorrow, not the server's."""
    return at.astimezone(location.tzinfo)


def note_location_for(author: User, customer: Customer) -> Location:
    """Where a note is written: the customer's home location if the author works there, else a
    location of the author's that knows the customer, else the author's own, else the home location."""
    staff_locations = sorted(access.staff_locations(author), key=lambda location: location.pk)
    if not staff_locations or customer.home_location in staff_locations:
        return customer.home_location
    known = set(customer.locations.values_list("pk", flat=True))
    return next((location for location in staff_locations if location.pk in known), staff_locations[0])


# No savepoint of its own inside a caller's transaction (a request's, a log form's): none of them
# carries on after a failed note, so the savepoint and its release were two round trips for nothing.
@transaction.atomic(savepoint=False)
def note_create(
    *,
    customer: Customer,
    author: User,
    text: str,
    is_sensitive: bool = False,
    relevant_until: datetime.date | None = None,
    location: Location | None = None,
) -> Note:
    """Save a personal note and the suggestions the note reader makes from it (not yet accepted).

    `location` is where it is written (a visit's or a call's location); by default
    note_location_for. A sensitive note is read there only (crm/kernel/confidences.py).
    """
    note = Note(
        customer=customer,
        author=author,
        location=location or note_location_for(author, customer),
        text=text.strip(),
        is_sensitive=is_sensitive,
        relevant_until=relevant_until,
    )
    note._history_user = author
    # The customer, author and location are rows the caller loaded (through the access helpers): checking
    # that each still exists would cost three queries per note; the foreign keys refuse a vanished one.
    note.full_clean(exclude=["customer", "author", "location"])
    note.save()

    def known() -> set[str]:
        return {name.lower() for name in customer.people.values_list("name", flat=True)}

    written_at = _local_time(note.created_at, customer.home_location)
    proposals = [p for p in read_note(note.text, written_at, known_names=known) if not _already_known(customer, p)]
    if note.is_sensitive:
        proposals = [_discreet(p) for p in proposals]
    # What was just suggested, all of it open: the caller shows it without reading it back.
    note.new_suggestions = Suggestion.objects.bulk_create(
        Suggestion(note=note, kind=p.kind, rule=p.rule, summary=p.summary[:200], payload=p.payload) for p in proposals
    )
    return note


GIST_LENGTH = 80


def note_gist(text: str) -> str:
    """Return the first sentence of a note, cut at a word near GIST_LENGTH characters."""
    first_line = (text.strip().splitlines() or [""])[0]
    first = re.split(r"(?<=[.!?])\s", " ".join(first_line.split()), maxsplit=1)[0].rstrip(".!?,;: ")
    if len(first) <= GIST_LENGTH:
        return first
    return first[:GIST_LENGTH].rsplit(" ", 1)[0].rstrip(",;: ") + "…"


# What a gesture idea from a sensitive note says: it travels in the form's address and into a gesture
# that managers approve, so it names no illness or loss.
DISCREET_GESTURES = {
    "card": "A handwritten card",
    "gift_card": "A small gift card",
    "flowers": "Flowers",
    "small_gift": "A small gift",
    "discount": "A discount on their next visit",
    "favour": "A favour on us",
}


def _discreet(proposal: Proposal) -> Proposal:
    if proposal.kind != Suggestion.Kind.GESTURE:
        return proposal
    description = DISCREET_GESTURES.get(proposal.payload["category"], "A small gesture")
    payload = proposal.payload | {"description": description}
    return dataclasses.replace(proposal, summary=f"Gesture idea: {description}", payload=payload)


def _already_known(customer: Customer, proposal) -> bool:
    """Do not propose what is already open, recorded, or waiting as another note's suggestion."""
    waiting = Suggestion.objects.filter(
        note__customer=customer, status=Suggestion.Status.OPEN, kind=proposal.kind
    ).only("summary")
    if any(suggestion.summary == proposal.summary[:200] for suggestion in waiting):
        return True
    if proposal.kind == Suggestion.Kind.FOLLOW_UP:
        return open_follow_up_like(customer, proposal.payload["prompt"]) is not None
    if proposal.kind == Suggestion.Kind.DATE:
        data = proposal.payload
        dates = customer.important_dates.filter(kind=data["kind"], month=data["month"])
        return dates.filter(day=data["day"]).exists() if data.get("day") else dates.exists()
    return False


@transaction.atomic
def note_update(
    *, note: Note, editor: User, text: str, is_sensitive: bool, relevant_until: datetime.date | None
) -> Note:
    """Change a note; only its author or a manager may, and the history keeps the old text."""
    if not can_edit_note(editor, note):
        raise PermissionDenied("Only the note's author or a manager can edit it.")
    note.text = text.strip()
    note.is_sensitive = is_sensitive
    note.relevant_until = relevant_until
    note._history_user = editor
    note.full_clean()
    note.save()
    return note
