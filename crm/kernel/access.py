"""Access helpers shared by every app's views."""

import hashlib

from django.contrib.auth.decorators import permission_required
from django.db.models import QuerySet
from django.http import Http404

from crm.kernel.cache import bump, read_ahead, versioned
from crm.kernel.models import ImportJob, Location, User

# Renewed whenever anyone's locations or any location changes (connect()): rare, so one version serves all.
STAFF_LOCATIONS_VERSION = "crm:staff-locations-version"
STAFF_LOCATIONS_SECONDS = 600


def require_perm(perm: str):
    """Allow the view to users holding `perm`; others get a 403.

    Anonymous users never reach a view: LoginRequiredMiddleware sends them to
    the login page first.
    """
    return permission_required(perm, raise_exception=True)


def per_request(user: User, key: str, load):
    """Return load(), read once for this user object and kept on it.

    request.user is loaded afresh for every request, so what is kept here lives for one request: the
    page's selectors and forms share one read of the user's locations and of the reference lists.
    """
    memo = user.__dict__.setdefault("_per_request", {})
    if key not in memo:
        memo[key] = load()
    return memo[key]


def staff_locations(user: User) -> list[Location]:
    """Every location this member of staff works at (closed ones too), by name: the one read of them that
    which customers they see, whose confidences they read and where they check customers in all use.

    From the shared cache (one round trip, shared with nothing else on a hit), once per request.
    """

    def load() -> list[Location]:
        return versioned(
            STAFF_LOCATIONS_VERSION,
            _staff_locations_key(user.pk),
            lambda: list(Location.objects.filter(staff=user).order_by("name", "pk")),
            STAFF_LOCATIONS_SECONDS,
        )

    return per_request(user, "staff_locations", load)


def _staff_locations_key(user_pk) -> str:
    return f"crm:staff-locations:{user_pk}"


@read_ahead
def _read_ahead(user_pk) -> list[str]:
    """Most pages read the user's locations (which customers they see, whose confidences they read)."""
    return [STAFF_LOCATIONS_VERSION, _staff_locations_key(user_pk)]


def staff_location_ids(user: User) -> list[int]:
    return [location.pk for location in staff_locations(user)]


def own_active_locations(user: User) -> list[Location]:
    """The active locations this member of staff works at, read once per request."""
    return [location for location in staff_locations(user) if location.is_active]


def staff_locations_changed(sender=None, instance=None, **kwargs) -> None:
    """Someone's locations, or a location, changed: every member of staff's are read again."""
    if isinstance(instance, User):  # this very user object may be asked again in this request
        instance.__dict__.get("_per_request", {}).pop("staff_locations", None)
    bump(STAFF_LOCATIONS_VERSION)


def connect() -> None:
    """Renew the staff locations' version on any change to who works where (crm.kernel.apps)."""
    from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

    m2m_changed.connect(staff_locations_changed, sender=User.locations.through, dispatch_uid="crm.staff-locations.m2m")
    for model in (Location, User):
        post_delete.connect(staff_locations_changed, sender=model, dispatch_uid=f"crm.staff-locations.{model.__name__}")
    post_save.connect(staff_locations_changed, sender=Location, dispatch_uid="crm.staff-locations.location")
    post_migrate.connect(staff_locations_changed, dispatch_uid="crm.staff-locations.migrated")


def static_choices(field, objects) -> None:
    """Give a ModelChoiceField options from objects already loaded: rendering it runs no query (a
    submitted value is still checked against the field's queryset)."""
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    field.choices = empty + [(field.prepare_value(obj), field.label_from_instance(obj)) for obj in objects]


def fragment_key(*parts) -> str:
    """A short key for a template fragment cache that changes whenever any of the parts does."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


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


def get_import_job_for_user(user: User, pk: int) -> ImportJob:
    """Return an import job its creator may see, or a manager or owner of its location; else 404."""
    from crm.kernel import roles

    try:
        job = ImportJob.objects.select_related("location", "created_by").get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such import") from None
    if job.created_by_id == user.pk:
        return job
    if roles.is_manager_or_owner(user) and (
        job.location_id is None or locations_for(user).filter(pk=job.location_id).exists()
    ):
        return job
    raise Http404("No such import")
