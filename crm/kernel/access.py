"""Access helpers shared by every app's views."""

from django.contrib.auth.decorators import permission_required
from django.db.models import QuerySet
from django.http import Http404

from crm.kernel.models import Location, User


def require_perm(perm: str):
    """Allow the view to users holding `perm`; others get a 403.

    Anonymous users never reach a view: LoginRequiredMiddleware sends them to
    the login page first.
    """
    return permission_required(perm, raise_exception=True)


def locations_for(user: User) -> QuerySet[Location]:
    """Return the locations whose customers this user may see."""
    if user.has_perm("crm.view_all_locations"):
        return Location.objects.all()
    return user.locations.all()


def get_location_for_user(user: User, pk: int) -> Location:
    """Return one of the locations this user may see, else 404."""
    try:
        return locations_for(user).get(pk=pk)
    except (Location.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such location") from None
