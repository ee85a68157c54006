"""What a member of staff may open in journeys: one place, used by every journeys view.

Customers (and so their interactions and personas) are scoped by customers.access. Touchpoints,
personas with their journey steps, and API tokens belong to the business as a whole (one
business per deployment, no location on them): every member of staff reads the same catalogue
and maps, and permissions (crm/kernel/roles.py) decide who edits them. Their helpers still live here,
so a view never loads an object by id any other way.
"""

from django.db.models import QuerySet
from django.http import Http404

from crm.kernel.access import locations_for, own_active_locations, per_request
from crm.kernel.models import Location, User
from journeys.models import ApiToken, JourneyStep, Persona, Touchpoint


def _get(objects: QuerySet, pk, what: str):
    try:
        return objects.get(pk=pk)
    except (objects.model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404(f"No such {what}") from None


def get_touchpoint(user: User, pk: int) -> Touchpoint:
    """Return a touchpoint (business-wide), else 404."""
    return _get(Touchpoint.objects.all(), pk, "touchpoint")


def get_persona(user: User, pk: int) -> Persona:
    """Return a persona (business-wide), else 404."""
    return _get(Persona.objects.prefetch_related("preferred_touchpoints"), pk, "persona")


def get_step(user: User, pk: int) -> JourneyStep:
    """Return a designed journey step (it belongs to a business-wide persona), else 404."""
    return _get(JourneyStep.objects.select_related("persona"), pk, "journey step")


def get_api_token(user: User, pk) -> ApiToken:
    """Return an API token (business-wide: a till or the website, not a person), else 404."""
    return _get(ApiToken.objects.all(), pk, "token")


def log_locations_for(user: User) -> QuerySet[Location]:
    """Where this user logs a conversation: their own active locations; staff attached to no
    location (an owner) choose among the active locations they may see."""
    if own_active_locations(user):
        return user.locations.filter(is_active=True)
    return locations_for(user).filter(is_active=True)


def log_location_choices(user: User) -> list[Location]:
    """The locations of log_locations_for, read once per request (the page's forms share them)."""
    return own_active_locations(user) or per_request(
        user, "log_locations", lambda: list(locations_for(user).filter(is_active=True))
    )


def import_locations_for(user: User) -> QuerySet[Location]:
    """The default location an import may use: the active locations this user may see."""
    return locations_for(user).filter(is_active=True)


def active_touchpoints(user: User) -> list[Touchpoint]:
    """The touchpoints staff log against, read once per request (the page's forms share them)."""
    return per_request(user, "active_touchpoints", lambda: list(Touchpoint.objects.filter(is_active=True)))
