"""Writes for customers, their people, dates, notes and follow-ups."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable

import phonenumbers
from auditlog.context import disable_auditlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from crm.kernel import audit, uploads
from crm.kernel.bulk import copy_into_temp
from crm.kernel.models import Location, User
from customers import extensions, privacy, schedule
from customers.access import can_edit_note
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Suggestion, Tag
from customers.note_reader import Proposal, read_note


def normalise_phone(raw: str) -> str:
    """Return the phone number in international E.164 form, or raise ValidationError."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, settings.BUSINESS_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number such as (207) 555-0123 or +44 20 7946 0958.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def tags_from_text(text: str) -> list[Tag]:
    """Return the tags named in a comma-separated list, creating new ones."""
    names = []
    for name in (text or "").split(","):
        name = " ".join(name.split()).lower()[:40]
        if name and name not in names:
            names.append(name)
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [existing.get(name) or Tag.objects.create(name=name) for name in names]


def _refresh_search_document(customer: Customer, tag_names: Iterable[str]) -> None:
    customer.search_document = customer.build_search_document(sorted(tag_names))
    customer.save(update_fields=["search_document"])


@transaction.atomic
def customer_save(*, customer: Customer, tags: list[Tag] | None = None) -> Customer:
    """Validate and save a new or changed customer; the home location always knows them."""
    customer.phone = normalise_phone(customer.phone)
    customer.email = customer.email.strip().lower()
    customer.full_clean(exclude=["search_document"])
    today = customer.home_location.local_today()
    anniversary = schedule.customer_anniversary(customer.customer_since, today)
    customer.next_anniversary_on = anniversary[0] if anniversary else None
    customer.save()
    customer.locations.add(customer.home_location)
    if tags is not None:
        customer.tags.set(tags)
    tag_list = list(customer.tags.all())
    _refresh_search_document(customer, [tag.name for tag in tag_list])
    _refresh_keep_in_touch(customer, tag_list)
    return customer


def keep_in_touch_cadence(customer: Customer, tags: list[Tag]) -> int | None:
    """The customer's own cadence, else the shortest of their tags' cadences."""
    if customer.keep_in_touch_days:
        return customer.keep_in_touch_days
    return min((tag.keep_in_touch_days for tag in tags if tag.keep_in_touch_days), default=None)


def _keep_in_touch_due(customer: Customer, tags: list[Tag]) -> datetime.date | None:
    last_contact = customer.last_contact_at or customer.created_at
    local_day = timezone.localtime(last_contact, customer.home_location.tzinfo).date() if last_contact else None
    return schedule.keep_in_touch_due(local_day, keep_in_touch_cadence(customer, tags))


def _refresh_keep_in_touch(customer: Customer, tags: list[Tag]) -> None:
    due = _keep_in_touch_due(customer, tags)
    if due != customer.keep_in_touch_due_on:
        customer.keep_in_touch_due_on = due
        customer.save(update_fields=["keep_in_touch_due_on"])


@transaction.atomic
def tag_save(*, tag: Tag) -> Tag:
    """Save a tag; a new keep-in-touch cadence reschedules every customer with the tag."""
    tag.full_clean()
    tag.save()
    _reschedule_keep_in_touch(Customer.objects.filter(tags=tag, erased_at__isnull=True))
    return tag


@transaction.atomic
def customer_archive(*, customer: Customer) -> Customer:
    """Archive: the customer leaves lists and search but keeps their history."""
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        customer.save(update_fields=["archived_at", "updated_at"])
    return customer


@transaction.atomic
def customer_restore(*, customer: Customer) -> Customer:
    customer.archived_at = None
    customer.save(update_fields=["archived_at", "updated_at"])
    return customer


@transaction.atomic
def customer_erase(*, customer: Customer, by: User) -> Customer:
    """Remove the customer's personal data for good, keeping anonymous counts.

    Names, contact details, preferences, people, dates, notes (and their
    history), follow-ups and suggestions go; the row stays, marked erased, so
    visits, purchases and referrals still count without saying who.
    """
    if not by.has_perm("customers.erase_customer"):
        raise PermissionDenied("Only an owner can erase a customer.")
    # Nothing of what is removed may be copied into the audit trail on its way out.
    with disable_auditlog():
        _erase_personal_data(customer, by)
    # Who did what and when stays in the trail; what it said about the customer goes.
    audit.record_erasure(user=by, customer=customer)
    return customer


def _erase_personal_data(customer: Customer, by: User) -> None:
    customer.notes.all().delete()
    # Deleting notes writes history rows with their text; remove all of them last.
    Note.history.filter(customer_id=customer.pk).delete()
    customer.follow_ups.all().delete()
    customer.important_dates.all().delete()
    customer.people.all().delete()
    # A tag only they wear may name them ("Zenobia's tortoise"): it goes; shared tags stay.
    worn_by_others = Customer.tags.through.objects.filter(tag_id=OuterRef("pk")).exclude(customer_id=customer.pk)
    Tag.objects.filter(customers=customer).exclude(Exists(worn_by_others)).delete()
    customer.tags.clear()
    # Import previews waiting for confirmation that have a row about them go too.
    uploads.discard_waiting_holding(privacy.row_matcher(customer))
    for hook in extensions.erase_hooks:
        hook(customer, by)
    now = timezone.now()
    customer.first_name = "Erased customer"
    customer.last_name = f"#{customer.pk}"
    customer.preferred_name = ""
    customer.email = ""
    customer.phone = ""
    customer.external_id = ""
    customer.preferences = ""
    customer.consent_email_at = customer.consent_mail_at = customer.consent_phone_at = None
    customer.search_document = ""
    customer.erased_at = now
    customer.archived_at = customer.archived_at or now
    customer.save()


@transaction.atomic
def customer_contact_record(
    *, customer: Customer, location: Location, at: datetime.datetime, is_visit: bool
) -> Customer:
    """Note any contact with the customer: it resets the keep-in-touch clock; a visit also
    makes the location know them and moves the brief's visit figures."""
    customer = Customer.objects.select_for_update().select_related("home_location").get(pk=customer.pk)
    fields = []
    if customer.last_contact_at is None or at > customer.last_contact_at:
        customer.last_contact_at = at
        fields.append("last_contact_at")
    if is_visit:
        customer.locations.add(location)
        customer.visit_count += 1
        if customer.first_visit_at is None or at < customer.first_visit_at:
            customer.first_visit_at = at
        if customer.last_visit_at is None or at >= customer.last_visit_at:
            customer.last_visit_at = at
            customer.last_visit_location = location
        fields += ["visit_count", "first_visit_at", "last_visit_at", "last_visit_location"]
    if fields:
        customer.save(update_fields=fields)
    _refresh_keep_in_touch(customer, list(customer.tags.all()))
    for hook in extensions.contact_recorded_hooks:
        hook(customer)
    return customer


@transaction.atomic
def customers_contacts_add(contacts: list[tuple[int, int, datetime.datetime, bool]]) -> int:
    """Record many contacts at once (an import): (customer id, location id, when, is it a visit).

    The same effect as customer_contact_record for each, in a few statements per thousand customers.
    """
    per_customer: dict[int, dict] = {}
    for customer_id, location_id, at, is_visit in contacts:
        seen = per_customer.setdefault(
            customer_id,
            {"visits": 0, "first": None, "last": None, "last_location": None, "contact": at, "locations": set()},
        )
        seen["contact"] = max(seen["contact"], at)
        if is_visit:
            seen["visits"] += 1
            seen["locations"].add(location_id)
            if seen["first"] is None or at < seen["first"]:
                seen["first"] = at
            if seen["last"] is None or at >= seen["last"]:
                seen["last"], seen["last_location"] = at, location_id
    ids = sorted(per_customer)
    Through = Customer.locations.through
    size = 10_000
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        _add_contact_figures_in_sql(chunk, per_customer)
        Through.objects.bulk_create(
            [Through(customer_id=cid, location_id=lid) for cid in chunk for lid in per_customer[cid]["locations"]],
            ignore_conflicts=True,
        )
        _refresh_keep_in_touch_of(chunk)
        for hook in extensions.contacts_recorded_hooks:
            hook(chunk)
    return len(ids)


CONTACT_FIGURES_SQL = """
UPDATE customers_customer AS c SET
    visit_count = c.visit_count + v.visits,
    first_visit_at = LEAST(c.first_visit_at, v.first_visit),
    last_visit_location_id = CASE
        WHEN v.last_visit IS NOT NULL AND (c.last_visit_at IS NULL OR v.last_visit >= c.last_visit_at)
        THEN v.last_location ELSE c.last_visit_location_id END,
    last_visit_at = GREATEST(c.last_visit_at, v.last_visit),
    last_contact_at = GREATEST(c.last_contact_at, v.contact)
FROM contact_figures_in AS v
WHERE c.id = v.id
"""


def _add_contact_figures_in_sql(chunk: list[int], per_customer: dict[int, dict]) -> None:
    """PostgreSQL does the arithmetic (LEAST and GREATEST skip NULLs) for the chunk in one UPDATE."""
    rows = []
    for customer_id in chunk:
        seen = per_customer[customer_id]
        rows.append((customer_id, seen["visits"], seen["first"], seen["last"], seen["last_location"], seen["contact"]))
    with connection.cursor() as cursor:
        copy_into_temp(
            cursor,
            "contact_figures_in",
            "id bigint, visits integer, first_visit timestamptz, "
            "last_visit timestamptz, last_location bigint, contact timestamptz",
            rows,
        )
        cursor.execute(CONTACT_FIGURES_SQL)


def _refresh_keep_in_touch_of(chunk: list[int]) -> None:
    """Reschedule keep-in-touch for those of these customers who have a cadence (their own or a tag's)."""
    _reschedule_keep_in_touch(
        Customer.objects.filter(pk__in=chunk)
        .filter(Q(keep_in_touch_days__isnull=False) | Q(tags__keep_in_touch_days__isnull=False))
        .distinct()
    )


def _reschedule_keep_in_touch(customers: QuerySet[Customer]) -> None:
    """Recompute these customers' keep-in-touch days; write the ones that changed, in bulk."""
    changed = []
    for customer in customers.select_related("home_location").prefetch_related("tags").iterator(chunk_size=2000):
        due = _keep_in_touch_due(customer, list(customer.tags.all()))
        if due != customer.keep_in_touch_due_on:
            customer.keep_in_touch_due_on = due
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["keep_in_touch_due_on"], batch_size=500)


@transaction.atomic
def person_save(*, person: Person) -> Person:
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def person_delete(*, person: Person) -> None:
    person.delete()


@transaction.atomic
def important_date_delete(*, important_date: ImportantDate) -> None:
    important_date.delete()


@transaction.atomic
def important_date_save(*, important_date: ImportantDate) -> ImportantDate:
    """Save a date and schedule its next prompt in the customer's home location's day."""
    important_date.full_clean()
    important_date.schedule_from(important_date.customer.home_location.local_today())
    important_date.save()
    return important_date


def _local_time(at: datetime.datetime, location: Location) -> datetime.datetime:
    """The moment in the location's own time zone: "tomorrow" is the shop's tomorrow, not the server's."""
    return at.astimezone(location.tzinfo)


def note_location_for(author: User, customer: Customer) -> Location:
    """Where a note is written: the customer's home location if the author works there, else a
    location of the author's that knows the customer, else the author's own, else the home location."""
    staff_locations = sorted(author.locations.all(), key=lambda location: location.pk)
    if not staff_locations or customer.home_location in staff_locations:
        return customer.home_location
    known = set(customer.locations.values_list("pk", flat=True))
    return next((location for location in staff_locations if location.pk in known), staff_locations[0])


@transaction.atomic
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
    note.full_clean()
    note.save()
    known = {name.lower() for name in customer.people.values_list("name", flat=True)}
    written_at = _local_time(note.created_at, customer.home_location)
    proposals = [p for p in read_note(note.text, written_at, known_names=known) if not _already_known(customer, p)]
    if note.is_sensitive:
        proposals = [_discreet(p) for p in proposals]
    Suggestion.objects.bulk_create(
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
        location=_location_for(author, customer),
        note=note,
    )
    return note, follow_up


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


def _open_follow_up_like(customer: Customer, prompt: str) -> FollowUp | None:
    """An open follow-up of this customer with the same prompt (compared in Python: prompts are encrypted)."""
    wanted = prompt.strip().casefold()
    for follow_up in customer.follow_ups.filter(status=FollowUp.Status.OPEN).order_by("pk"):
        if follow_up.prompt.strip().casefold() == wanted:
            return follow_up
    return None


def _already_known(customer: Customer, proposal) -> bool:
    """Do not propose what is already open, recorded, or waiting as another note's suggestion."""
    waiting = Suggestion.objects.filter(
        note__customer=customer, status=Suggestion.Status.OPEN, kind=proposal.kind
    ).only("summary")
    if any(suggestion.summary == proposal.summary[:200] for suggestion in waiting):
        return True
    if proposal.kind == Suggestion.Kind.FOLLOW_UP:
        return _open_follow_up_like(customer, proposal.payload["prompt"]) is not None
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
    if closed != 1:
        raise ValidationError("This follow-up was already closed.")
    follow_up.refresh_from_db()
    for hook in extensions.follow_up_closed_hooks:
        hook(follow_up)
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
    if taken != 1:
        raise ValidationError("Someone already took this follow-up, or it is closed.")
    follow_up.refresh_from_db()
    for hook in extensions.follow_up_taken_hooks:
        hook(follow_up)
    return follow_up


@transaction.atomic
def follow_up_dismiss(*, follow_up: FollowUp, user: User) -> FollowUp:
    return _close(follow_up, FollowUp.Status.DISMISSED, user)


def _decide(suggestion: Suggestion, status: str) -> None:
    decided = Suggestion.objects.filter(pk=suggestion.pk, status=Suggestion.Status.OPEN).update(
        status=status, decided_at=timezone.now()
    )
    if decided != 1:
        raise ValidationError("This suggestion was already dealt with.")


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
        already = _open_follow_up_like(customer, data["prompt"])
        if already is not None:
            return already  # accepted, but never a second identical follow-up
        due_date = datetime.date.fromisoformat(data["due_date"]) if data.get("due_date") else None
        return follow_up_create(
            customer=customer,
            created_by=user,
            prompt=data["prompt"],
            due=data["due"],
            due_date=due_date,
            location=_location_for(user, customer),
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


def _location_for(user: User, customer: Customer) -> Location:
    """The location a follow-up belongs to: the customer's home, unless this user works elsewhere only."""
    staff_locations = list(user.locations.all())
    if not staff_locations or customer.home_location in staff_locations:
        return customer.home_location
    return staff_locations[0]
