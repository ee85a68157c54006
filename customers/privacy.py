"""Everything the business holds about one customer, for their right of access."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import phonenumbers
from django.utils import timezone

from customers import signals
from customers.models import Customer, Note


def _iso(value):
    return value.isoformat() if value else None


def customer_export(customer: Customer) -> dict:
    """Return all the data held about the customer as plain JSON-ready values.

    Other apps add their part (interactions, gestures, where they heard of us) as receivers of
    signals.customer_exporting.
    Sensitive notes are included: the export is for the customer themself.
    """
    profile = {
        "id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "preferred_name": customer.preferred_name,
        "email": customer.email,
        "phone": customer.phone,
        "external_id": customer.external_id,
        "home_location": customer.home_location.name,
        "locations": [location.name for location in customer.locations.all()],
        "tags": [tag.name for tag in customer.tags.all()],
        "customer_since": _iso(customer.customer_since),
        "referred_by": customer.referred_by.full_name if customer.referred_by_id else None,
        "preferences": customer.preferences,
        "consent": {
            "email": _iso(customer.consent_email_at),
            "mail": _iso(customer.consent_mail_at),
            "phone": _iso(customer.consent_phone_at),
        },
        "first_visit_at": _iso(customer.first_visit_at),
        "last_visit_at": _iso(customer.last_visit_at),
        "visit_count": customer.visit_count,
        "created_at": _iso(customer.created_at),
    }
    # Each note's saved versions, oldest first: what it said before it was edited.
    history: dict[int, list] = {}
    for version in Note.history.filter(customer_id=customer.pk).order_by("history_date", "history_id"):
        history.setdefault(version.id, []).append(version)
    data = {
        "exported_at": timezone.now().isoformat(),
        "profile": profile,
        "people": [
            {
                "name": person.name,
                "relation": person.get_relation_display(),
                "species": person.species,
                "birthday": _iso(person.birthday),
                "notes": person.notes,
            }
            for person in customer.people.all().order_by("pk")
        ],
        "important_dates": [
            {"what": date.title, "date": date.when, "kind": date.get_kind_display()}
            for date in customer.important_dates.select_related("person").order_by("month", "day", "pk")
        ],
        "notes": [
            {
                "written_at": _iso(note.created_at),
                "author": str(note.author) if note.author_id else "",
                "text": note.text,
                "sensitive": note.is_sensitive,
                "relevant_until": _iso(note.relevant_until),
                "earlier_versions": [
                    {"until": _iso(later.history_date), "text": version.text}
                    for version, later in zip(history.get(note.pk, []), history.get(note.pk, [])[1:], strict=False)
                    if version.text != later.text
                ],
            }
            for note in customer.notes.select_related("author").order_by("created_at", "pk")
        ],
        "follow_ups": [
            {
                "prompt": follow_up.prompt,
                "status": follow_up.get_status_display(),
                "due": follow_up.get_due_display(),
                "due_date": _iso(follow_up.due_date),
                "created_at": _iso(follow_up.created_at),
            }
            for follow_up in customer.follow_ups.order_by("created_at", "pk")
        ],
    }
    for _receiver, sections in signals.customer_exporting.send(sender=Customer, customer=customer):
        for name, section in (sections or {}).items():
            if name == "profile":
                profile.update(section)
            else:
                data[name] = section
    return data


def profile_rows(profile: dict) -> list[tuple[str, str]]:
    """The profile as (label, text) rows for the readable page."""
    rows = []
    for key, value in profile.items():
        if key == "consent":
            continue
        if isinstance(value, list):
            value = ", ".join(value)
        label = key.replace("_", " ").capitalize()
        if label == "Id" or label.endswith(" id"):
            label = label[:-2] + "ID"
        rows.append((label, "—" if value in (None, "") else _readable(value)))
    return rows


def _readable(value) -> str:
    """Say an ISO date or time as people read it (the JSON keeps ISO)."""
    text = str(value)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) == 10:
        return f"{moment:%-d %b %Y}"
    return f"{timezone.localtime(moment):%-d %b %Y %H:%M}"


def row_matcher(customer: Customer) -> Callable[[list[str]], bool]:
    """Return a test of whether a CSV row (its cells) is about this customer: their email, external id
    or phone number (any formatting) in a cell, or their first and last name both in the row."""
    email = customer.email.strip().lower()
    external_id = customer.external_id.strip().lower()
    national = ""
    if customer.phone:
        try:
            national = str(phonenumbers.parse(customer.phone).national_number)
        except phonenumbers.NumberParseException:
            national = re.sub(r"\D", "", customer.phone)
    first, last = customer.first_name.strip().lower(), customer.last_name.strip().lower()

    def matches(cells: list[str]) -> bool:
        values = {" ".join((cell or "").lower().split()) for cell in cells}
        if (email and email in values) or (external_id and external_id in values):
            return True
        if first and last and ((first in values and last in values) or f"{first} {last}" in values):
            return True
        if len(national) >= 6:
            return any(
                re.sub(r"\D", "", value).endswith(national) for value in values if any(c.isdigit() for c in value)
            )
        return False

    return matches
