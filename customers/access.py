"""Which customers a member of staff may see: one place, used by every view."""

from collections.abc import Iterable

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from crm.access import locations_for
from crm.models import Location, User
from customers.models import Customer, FollowUp, Note, Suggestion

# What staff who may not read a sensitive note see in its place (lists, emails, other locations).
PRIVATE_NOTE = "a private note"
PRIVATE_FOLLOW_UP = "Follow up on a private note"


def customers_for(user: User) -> QuerySet[Customer]:
    """Return the customers this user may open: all for managers and owners, else their locations'."""
    customers = Customer.objects.filter(erased_at__isnull=True)
    if user.has_perm("crm.view_all_locations"):
        return customers
    known_here = Customer.locations.through.objects.filter(
        customer_id=OuterRef("pk"), location_id__in=user.locations.values("pk")
    )
    return customers.filter(Exists(known_here))


def get_customer_for_user(user: User, pk: int, *, for_page: bool = False) -> Customer:
    """Return the customer if this user may see them, else 404 (not 403: we do not confirm they exist).

    With for_page, also load what the customer page reads (tags, locations, people).
    """
    customers = customers_for(user).select_related("home_location", "referred_by", "heard_via")
    if for_page:
        customers = customers.select_related("last_visit_location").prefetch_related("tags", "locations", "people")
    try:
        return customers.get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such customer") from None


def sees_sensitive(user: User, customer: Customer) -> bool:
    """Sensitive notes show only to staff of a location that knows this customer."""
    staff_locations = {location.pk for location in user.locations.all()}
    return bool(staff_locations & {location.pk for location in customer.locations.all()})


def visible_notes(user: User, customer: Customer) -> QuerySet[Note]:
    notes = Note.objects.filter(customer=customer)
    if not sees_sensitive(user, customer):
        notes = notes.filter(is_sensitive=False)
    return notes


def notes_visible_to(user: User) -> Q:
    """A filter on Note for this user's view of sensitive notes across customers."""
    return Q(is_sensitive=False) | Q(customer__locations__in=user.locations.all())


def can_edit_note(user: User, note: Note) -> bool:
    """A note is edited only by its author or a manager (or owner)."""
    return note.author_id == user.pk or user.has_perm("customers.change_note")


def get_for_user(model: type[Model], user: User, pk: int) -> Model:
    """Load a customer's person, date, note or follow-up by id, if this user may see that customer, else 404.

    A sensitive note also needs the user to be staff of one of the customer's locations.
    """
    objects = model.objects.filter(customer__in=customers_for(user))
    if model is Note:
        objects = objects.filter(notes_visible_to(user)).distinct()
    try:
        return objects.select_related("customer").get(pk=pk)
    except (model.DoesNotExist, ValueError, OverflowError):
        raise Http404("Not found") from None


def get_suggestion_for_user(user: User, pk: int) -> Suggestion:
    """Load a suggestion: only its note's author decides it, and only while they may still see the customer."""
    suggestions = Suggestion.objects.filter(note__author=user, note__customer__in=customers_for(user))
    sensitive_readable = Q(note__customer__locations__in=user.locations.all())
    suggestions = suggestions.filter(Q(note__is_sensitive=False) | sensitive_readable)
    try:
        return suggestions.select_related("note__customer").distinct().get(pk=pk)
    except (Suggestion.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such suggestion") from None


def referrers_for(user: User) -> QuerySet[Customer]:
    """The customers this user may name as a referrer (word of mouth): those they may open, not archived."""
    return customers_for(user).filter(archived_at__isnull=True)


def follow_up_locations_for(user: User, customer: Customer) -> QuerySet[Location]:
    """Where a follow-up for this customer may be raised: the customer's locations this user works with."""
    return customer.locations.filter(pk__in=locations_for(user).values("pk"))


def sensitive_customer_ids(user: User, customer_ids: Iterable[int]) -> set[int]:
    """Of these customers, those whose sensitive notes this user may read (staff of one of their locations)."""
    ids = set(customer_ids)
    if not ids:
        return set()
    known = Customer.locations.through.objects.filter(
        customer_id__in=ids, location_id__in=user.locations.values("pk")
    ).values_list("customer_id", flat=True)
    return set(known)


def show_follow_ups(user: User | None, follow_ups: Iterable[FollowUp]) -> list[FollowUp]:
    """Set `shown_prompt` on each follow-up: its prompt, or PRIVATE_FOLLOW_UP when it comes from a
    sensitive note this user may not read. With user None (snapshots, emails), every such prompt is hidden.

    The prompt of a follow-up written from a sensitive note often says what the note said
    ("ask how the chemo went"), so it is as private as the note.
    """
    follow_ups = list(follow_ups)
    note_ids = {f.note_id for f in follow_ups if f.note_id}
    private_notes = set(Note.objects.filter(pk__in=note_ids, is_sensitive=True).values_list("pk", flat=True))
    private = [f for f in follow_ups if f.note_id in private_notes]
    readable = sensitive_customer_ids(user, {f.customer_id for f in private}) if user is not None else set()
    for follow_up in follow_ups:
        hidden = follow_up.note_id in private_notes and follow_up.customer_id not in readable
        follow_up.shown_prompt = PRIVATE_FOLLOW_UP if hidden else follow_up.prompt
    return follow_ups
