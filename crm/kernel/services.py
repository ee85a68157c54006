"""Writes for the site-wide pieces: locations and staff."""

from auditlog.models import LogEntry
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.kernel import business, roles, security
from crm.kernel.models import BusinessSettings, Location, SecurityPolicy, User


@transaction.atomic
def location_save(*, location: Location) -> Location:
    """Validate and save a location (new or changed)."""
    location.full_clean()
    location.save()
    return location


# --- staff settings and the business's security ---------------------------------------------


@transaction.atomic
def profile_save(*, user: User) -> User:
    """Save a member of staff's own settings (the start-of-shift email)."""
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def two_factor_device_for_setup(*, user: User) -> TOTPDevice:
    """Return the user's unconfirmed authenticator, making one the first time they open the set-up page."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def two_factor_confirm(*, device: TOTPDevice) -> TOTPDevice:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


@transaction.atomic
def two_factor_remove(*, user: User, by: User | None = None) -> int:
    """Remove a user's authenticators; an owner removing someone else's is recorded in the audit trail."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    if removed and by is not None:
        audit_note(user, by, "Two-factor authenticator removed (lost phone).")
    return removed


@transaction.atomic
def security_policy_save(*, policy: SecurityPolicy, by: User) -> SecurityPolicy:
    policy.updated_by = by
    policy.full_clean()
    policy.save()
    cache.delete(security.POLICY_CACHE_KEY)
    return policy


@transaction.atomic
def business_settings_save(
    *,
    by: User,
    name: str,
    currency: str,
    timezone: str,
    postal_address: str | None = None,
    track_email: bool | None = None,
) -> BusinessSettings:
    """Set the business's name, currency, default time zone, postal address and email tracking (audited);
    every page reads the new values. A postal_address or track_email of None keeps the saved one."""
    row = BusinessSettings.current()
    row.name, row.currency, row.timezone = name.strip(), currency.upper(), timezone
    if postal_address is not None:
        row.postal_address = postal_address.strip()
    if track_email is not None:
        row.track_email = track_email
    row.updated_by = by
    row.full_clean()
    row.save(
        update_fields=["name", "currency", "timezone", "postal_address", "track_email", "updated_by", "updated_at"]
    )
    business.forget()
    # Again once committed: a read between this save and the commit may have cached the old values.
    transaction.on_commit(business.forget)
    return row


class FirstRunClosed(Exception):
    """The install already has an owner: the first-run page is closed."""


@transaction.atomic
def first_run_complete(
    *,
    business_name: str,
    currency: str,
    timezone: str,
    location_name: str,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
) -> User:
    """Set up a fresh install in one go: the business, its first location and its first owner.

    Two people submitting at once are serialised on the Owner group's row: the second finds an owner
    and gets FirstRunClosed, so exactly one first owner is ever made.
    """
    from django.contrib.auth.models import Group

    Group.objects.select_for_update().get(name=roles.GROUP_NAMES[roles.OWNER])
    if roles.owner_exists():
        raise FirstRunClosed
    row = BusinessSettings.current()
    row.name, row.currency, row.timezone = business_name.strip(), currency.upper(), timezone
    row.full_clean()
    row.save(update_fields=["name", "currency", "timezone", "updated_at"])
    location = location_save(location=Location(name=location_name.strip(), timezone=timezone))
    owner = staff_save(
        user=User(username=username, first_name=first_name, last_name=last_name, email=email),
        role=roles.OWNER,
        locations=[location],
        password=password,
    )
    business.forget()
    transaction.on_commit(business.forget)
    return owner


@transaction.atomic
def lockout_unlock(*, attempt: AccessAttempt, by: User) -> None:
    """Let a locked-out login try again now, and say who let it."""
    axes_reset(username=attempt.username, ip=attempt.ip_address)
    audit_note(SecurityPolicy.current(), by, f"Unlocked the login {attempt.username!r} from {attempt.ip_address}.")


def audit_note(instance, actor: User, what: str) -> None:
    """Write a line of words into the audit trail about an object (an unlock, a reset)."""
    LogEntry.objects.log_create(
        instance, force_log=True, action=LogEntry.Action.UPDATE, actor=actor, changes=None, changes_text=what
    )


@transaction.atomic
def staff_save(*, user: User, role: str, locations: list[Location], password: str | None = None) -> User:
    """Save a member of staff with exactly one role and the locations they work at.

    A first password is hashed here; an existing member keeps theirs.
    """
    from django.contrib.auth.models import Group

    if role not in roles.GROUP_NAMES:
        raise ValidationError({"role": "Unknown role."})
    if password:
        user.set_password(password)
    user.full_clean(exclude=["password"] if not password else None)
    user.save()
    role_groups = Group.objects.filter(name__in=roles.GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=roles.GROUP_NAMES[role]))
    user.locations.set(locations)
    return user
