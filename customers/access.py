"""Which customers a member of staff may see: one place, used by every view."""

from collections.abc import Iterable

from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import Http404

from crm.kernel import confidences
from crm.kernel.access import locations_for, staff_location_ids
from crm.kernel.confidences import PRIVATE_FOLLOW_UP, PRIVATE_NOTE
from crm.kernel.models import Location, User
from customers.models import Customer, FollowUp, Note, Suggestion


def customers_for(user: User) -> QuerySet[Customer]:
    """Return the customers this user may open: all for managers and owners, else their locations'."""
    customers = Customer.objects.filter(erased_at__isnull=True)
    if user.has_perm("crm.view_all_locations"):
        return customers
    known_here = Customer.locations.through.objects.filter(
        customer_id=OuterRef("pk"), location_id__in=staff_location_ids(user)
    )
    return customers.filter(Exists(known_here))


def get_customer_for_user(
    user: User, pk: int, *, for_page: bool = False, also: tuple[str, ...] = (), only: tuple[str, ...] | None = None
) -> Customer:
    """Return the customer if this user may see them, else 404 (not 403: we do not confirm they exist).

    With for_page, also load what the customer page reads (tags, locations, people); `also` names more
    foreign keys to load in the same query. With `only`, load just these columns of the customer and its
    home location (a write that shows little of them).
    """
    if only is not None:
        customers = customers_for(user).select_related("home_location", *also).only(*only)
    else:
        customers = customers_for(user).select_related("home_location", "referred_by", *also)
    if for_page:
        customers = customers.select_related("last_visit_location").prefetch_related("tags", "locations", "people")
    try:
        return customers.get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such customer") from None


def visible_notes(user: User | None, customer: Customer) -> QuerySet[Note]:
    """This customer's notes that this user may read (crm/kernel/confidences.py decides)."""
    return Note.objects.filter(customer=customer).visible_to(user)


def can_edit_note(user: User, note: Note) -> bool:
    """A note is edited only by its author or a manager (or owner)."""
    return note.author_id == user.pk or user.has_perm("customers.change_note")


def get_for_user(model: type[Model], user: User, pk: int) -> Model:
    """Load a customer's person, date, note or follow-up by id, if this user may see that customer, else 404.

    A sensitive note also needs the user to be one who may read it (crm/kernel/confidences.py).
    """
    objects = model.objects.filter(customer__in=customers_for(user))
    if model is Note:
        objects = objects.filter(confidences.readable(user))
    try:
        return objects.select_related("customer").get(pk=pk)
    except (model.DoesNotExist, ValueError, OverflowError):
        raise Http404("Not found") from None


def get_suggestion_for_user(user: User, pk: int) -> Suggestion:
    """Load a suggestion: only its note's author decides it, and only while they may still see the customer."""
    suggestions = Suggestion.objects.filter(note__author=user, note__customer__in=customers_for(user))
    suggestions = suggestions.filter(confidences.readable(user, through="note"))
    try:
        return suggestions.select_related("note__customer").get(pk=pk)
    except (Suggestion.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such suggestion") from None


def referrers_for(user: User) -> QuerySet[Customer]:
    """The customers this user may name as a referrer (word of mouth): those they may open, not archived."""
    return customers_for(user).filter(archived_at__isnull=True)


def follow_up_locations_for(user: User, customer: Customer) -> QuerySet[Location]:
    """Where a follow-up for this customer may be raised: the customer's locations this user works with."""
    return customer.locations.filter(pk__in=locations_for(user).values("pk"))


def show_follow_ups(user: User | None, follow_ups: Iterable[FollowUp]) -> list[FollowUp]:
    """Set `shown_prompt` on each follow-up: its prompt, or PRIVATE_FOLLOW_UP when it comes from a
    sensitive note this user may not read (crm.kernel.confidences.mask). With user None (snapshots,
    emails), every such prompt is hidden.
    """
    return confidences.mask(user, follow_ups, fields={"prompt": PRIVATE_FOLLOW_UP})


def show_suggestions(user: User | None, suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    """Set `shown_summary` on each suggestion, masked like the note it was read from."""
    return confidences.mask(user, suggestions, fields={"summary": PRIVATE_NOTE})
