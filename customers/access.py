"""Which customers a member of staff may see: one place, used by every view."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from crm.models import User
from customers.models import Customer, Note


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
