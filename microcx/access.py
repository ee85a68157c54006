"""Which gestures and budgets a member of staff may see: one place, used by every micro-CX view.

Budgets belong to a location; a gesture to the location whose budget pays for it. Discretion
rules are business-wide (one row per role, set by owners), so they need no scoping here.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from crm.kernel.access import locations_for, own_active_locations
from crm.kernel.models import Location, User
from customers.models import Customer
from microcx.models import Budget, Gesture


def gestures_for(user: User) -> QuerySet[Gesture]:
    """Managers and owners see every gesture (they approve them); frontline staff those at their own
    locations and the ones they proposed."""
    gestures = Gesture.objects.all()
    if user.has_perm("microcx.approve_gesture"):
        return gestures
    return gestures.filter(Q(location__in=user.locations.all()) | Q(proposed_by=user))


def get_gesture_for_user(user: User, pk: int) -> Gesture:
    """Return a gesture this user may see, with what its page reads, else 404."""
    gestures = gestures_for(user).select_related(
        "customer", "proposed_by", "decided_by", "budget__location", "location", "note", "follow_up"
    )
    try:
        return gestures.get(pk=pk)
    except (Gesture.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such gesture") from None


def budgets_for(user: User) -> QuerySet[Budget]:
    """The budgets of the locations this user may see."""
    return Budget.objects.filter(location__in=locations_for(user))


def get_budget_for_user(user: User, pk: int) -> Budget:
    try:
        return budgets_for(user).select_related("location").get(pk=pk)
    except (Budget.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such budget") from None


def budget_locations_for(user: User) -> QuerySet[Location]:
    """Where this user may set a budget: the active locations they may see."""
    return locations_for(user).filter(is_active=True)


def gesture_locations_for(user: User, customer: Customer) -> QuerySet[Location]:
    """Whose budget a gesture may spend: the user's own active locations; staff attached to no
    location (an owner) spend from the customer's home location."""
    if own_active_locations(user):
        return user.locations.filter(is_active=True)
    return locations_for(user).filter(pk=customer.home_location_id)
